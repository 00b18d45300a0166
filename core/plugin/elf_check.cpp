#include "plugin/elf_check.h"

#include <elf.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace adf::plugin::elf {
namespace {

using Ehdr = ElfW(Ehdr);
using Phdr = ElfW(Phdr);
using Shdr = ElfW(Shdr);

constexpr unsigned char kNativeClass = sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;
constexpr unsigned char kNativeData =
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;

// The e_machine of code this process runs; 0 where unknown (dlopen then
// judges the machine itself, before mapping anything).
constexpr unsigned kNativeMachine =
#if defined(__x86_64__)
    EM_X86_64;
#elif defined(__aarch64__)
    EM_AARCH64;
#elif defined(__i386__)
    EM_386;
#elif defined(__arm__)
    EM_ARM;
#elif defined(__riscv)
    EM_RISCV;
#elif defined(__powerpc64__)
    EM_PPC64;
#elif defined(__s390x__)
    EM_S390;
#else
    0;
#endif

std::string type_name(unsigned type) {
    switch (type) {
        case ET_REL: return "a relocatable object (.o)";
        case ET_EXEC: return "an executable";
        case ET_CORE: return "a core dump";
        default: return fmt::format("an ELF file of type {}", type);
    }
}

std::string segment_name(std::uint32_t type) {
    switch (type) {
        case PT_LOAD: return "LOAD";
        case PT_DYNAMIC: return "DYNAMIC";
        case PT_INTERP: return "INTERP";
        case PT_NOTE: return "NOTE";
        case PT_PHDR: return "PHDR";
        case PT_TLS: return "TLS";
        case PT_GNU_EH_FRAME: return "GNU_EH_FRAME";
        case PT_GNU_RELRO: return "GNU_RELRO";
        default: return fmt::format("type {:#x}", type);
    }
}

// The end of [offset, offset + count * size), or false when it overflows.
bool end_of(std::uint64_t offset, std::uint64_t count, std::uint64_t size, std::uint64_t &end) {
    std::uint64_t length = 0;
    return !__builtin_mul_overflow(count, size, &length) &&
           !__builtin_add_overflow(offset, length, &end);
}

std::string truncated(std::uint64_t file_size, const std::string &what, std::uint64_t end) {
    return fmt::format("the file is truncated or damaged: it has {} bytes, but {} reaches byte {} "
                       "(an interrupted copy? install it again)",
                       file_size, what, end);
}

std::string beyond_any_file(const std::string &what) {
    return fmt::format("the file is damaged: {} lies beyond the end of any file", what);
}

// The ELF header at the start of `head`, after the checks every use of it
// needs; false with `problem` set when there is none.
bool read_header(std::string_view head, std::uint64_t file_size, Ehdr &header,
                 std::string &problem) {
    if (file_size == 0) {
        problem = "the file is empty";
        return false;
    }
    const bool elf_so_far =
        head.empty() || std::memcmp(head.data(), ELFMAG, std::min<std::size_t>(head.size(), SELFMAG)) == 0;
    if (!elf_so_far) {
        problem = "not an ELF file (it does not start with \\x7fELF)";
        return false;
    }
    if (head.size() < sizeof header) {
        problem = truncated(file_size, "its ELF header", sizeof header);
        return false;
    }
    if (static_cast<unsigned char>(head[EI_CLASS]) != kNativeClass) {
        problem = fmt::format("it is a {}-bit ELF file; this autodnsfailover loads {}-bit plugins",
                              head[EI_CLASS] == ELFCLASS32 ? 32 : 64, sizeof(void *) * 8);
        return false;
    }
    if (static_cast<unsigned char>(head[EI_DATA]) != kNativeData) {
        problem = "its ELF byte order is not this machine's";
        return false;
    }
    std::memcpy(&header, head.data(), sizeof header);
    if (header.e_type != ET_DYN) {
        problem = fmt::format("it is {}, not a shared object (build it with adf_add_plugin(), "
                              "or -shared)",
                              type_name(header.e_type));
        return false;
    }
    if (kNativeMachine != 0 && header.e_machine != kNativeMachine) {
        problem = fmt::format("it is built for ELF machine {}, not for this machine ({})",
                              header.e_machine, kNativeMachine);
        return false;
    }
    return true;
}

}  // namespace

Range program_header_table(std::string_view head, std::uint64_t file_size, std::string &problem) {
    problem.clear();
    Ehdr header{};
    if (!read_header(head, file_size, header, problem)) return {};
    if (header.e_phnum == 0 || header.e_phnum == PN_XNUM) {
        problem = fmt::format("the file is damaged: it declares {} program headers",
                              header.e_phnum == 0 ? "no" : "too many");
        return {};
    }
    if (header.e_phentsize != sizeof(Phdr)) {
        problem = fmt::format("the file is damaged: its program headers are {} bytes each, not {}",
                              header.e_phentsize, sizeof(Phdr));
        return {};
    }
    std::uint64_t end = 0;
    if (!end_of(header.e_phoff, header.e_phnum, sizeof(Phdr), end)) {
        problem = beyond_any_file("its program header table");
        return {};
    }
    if (end > file_size) {
        problem = truncated(file_size, "its program header table", end);
        return {};
    }
    return {header.e_phoff, std::uint64_t{header.e_phnum} * sizeof(Phdr)};
}

std::string check_coverage(std::string_view head, std::string_view table,
                           std::uint64_t file_size) {
    std::string problem;
    const Range range = program_header_table(head, file_size, problem);
    if (!problem.empty()) return problem;
    if (table.size() != range.length)
        return fmt::format("the file is damaged: its program header table could not be read "
                           "({} of {} bytes)",
                           table.size(), range.length);
    for (std::size_t i = 0; i * sizeof(Phdr) < table.size(); ++i) {
        Phdr segment{};
        std::memcpy(&segment, table.data() + i * sizeof(Phdr), sizeof segment);
        const std::string what =
            fmt::format("program header {} ({})", i, segment_name(segment.p_type));
        std::uint64_t end = 0;
        if (!end_of(segment.p_offset, 1, segment.p_filesz, end)) return beyond_any_file(what);
        if (segment.p_filesz != 0 && end > file_size) return truncated(file_size, what, end);
    }
    // The loader does not read section headers, but they come last in the
    // file: a table that is cut means the file is, whatever dlopen() says.
    Ehdr header{};
    std::memcpy(&header, head.data(), sizeof header);
    if (header.e_shoff != 0 && header.e_shnum != 0) {
        if (header.e_shentsize != sizeof(Shdr))
            return fmt::format("the file is damaged: its section headers are {} bytes each, not {}",
                               header.e_shentsize, sizeof(Shdr));
        std::uint64_t end = 0;
        if (!end_of(header.e_shoff, header.e_shnum, sizeof(Shdr), end))
            return beyond_any_file("its section header table");
        if (end > file_size) return truncated(file_size, "its section header table", end);
    }
    return {};
}

std::string check_image(std::string_view image) {
    std::string problem;
    const Range range = program_header_table(image, image.size(), problem);
    if (!problem.empty()) return problem;
    return check_coverage(image, image.substr(range.offset, range.length), image.size());
}

namespace {

// `length` bytes of `fd` from `offset`; false with `problem` set when they
// cannot be read (a short read means the file shrank meanwhile).
bool read_at(int fd, std::uint64_t offset, std::uint64_t length, std::string &out,
             std::string &problem) {
    out.assign(length, '\0');
    std::uint64_t done = 0;
    while (done < length) {
        const ssize_t n = ::pread(fd, out.data() + done, length - done,
                                  static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            problem = fmt::format("cannot read it: {}", std::strerror(errno));
            return false;
        }
        if (n == 0) break;
        done += static_cast<std::uint64_t>(n);
    }
    out.resize(done);
    return true;
}

}  // namespace

std::string check_file(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return fmt::format("cannot stat it: {}", std::strerror(errno));
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    std::string head, table, problem;
    if (!read_at(fd, 0, std::min<std::uint64_t>(file_size, sizeof(Ehdr)), head, problem))
        return problem;
    const Range range = program_header_table(head, file_size, problem);
    if (!problem.empty()) return problem;
    if (!read_at(fd, range.offset, range.length, table, problem)) return problem;
    return check_coverage(head, table, file_size);
}

}  // namespace adf::plugin::elf
