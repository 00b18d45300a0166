// A main() for the fuzz harnesses in ordinary builds (gcc, `make test`,
// `make asan`): runs LLVMFuzzerTestOneInput once over every file named on the
// command line, or every file in the directories named, so the committed
// corpus (every crash ever found included) is a regression test without
// clang. The harness's own assertions abort on a broken invariant.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "invariant.h"

namespace {

void collect(const std::string &path, std::vector<std::string> &files) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        std::exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        files.push_back(path);
        return;
    }
    DIR *dir = opendir(path.c_str());
    while (const dirent *entry = dir ? readdir(dir) : nullptr)
        if (entry->d_name[0] != '.') collect(path + "/" + entry->d_name, files);
    if (dir) closedir(dir);
}

}  // namespace

int main(int argc, char **argv) {
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) collect(argv[i], files);
    if (files.empty()) {
        std::fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (const std::string &file : files) {
        std::ifstream in(file, std::ios::binary);
        const std::string data((std::istreambuf_iterator<char>(in)), {});
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(data.data()), data.size());
    }
    std::printf("replayed %zu inputs\n", files.size());
    return 0;
}
