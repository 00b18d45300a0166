// The check of a plugin file before dlopen() (core/plugin/elf_check): any
// bytes, as a damaged or truncated plugin file would hold.
//
// Invariants: never a crash; an accepted image holds its program header
// table; the same image cut inside that table is refused, as a truncated
// file must be (dlopen() of it would die of SIGBUS).
#include <cstdint>
#include <string>
#include <string_view>

#include "invariant.h"
#include "plugin/elf_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view image(reinterpret_cast<const char *>(data), size);
    const std::string problem = adf::plugin::elf::check_image(image);
    if (!problem.empty() || size == 0) return 0;
    // Accepted: the image holds an ELF header whose tables lie inside it.
    std::string table_problem;
    const auto table = adf::plugin::elf::program_header_table(image, size, table_problem);
    FUZZ_REQUIRE(table_problem.empty(), table_problem);
    FUZZ_REQUIRE(table.offset + table.length <= size, "program header table outside the file");
    // Cutting the file inside its program header table must be refused.
    if (table.length > 0) {
        const std::string_view cut = image.substr(0, table.offset + table.length - 1);
        FUZZ_REQUIRE(!adf::plugin::elf::check_image(cut).empty(),
                     "a file cut inside its program header table was accepted");
    }
    return 0;
}
