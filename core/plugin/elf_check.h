// Checks that a plugin file is a complete ELF shared object for this
// machine before dlopen() maps it. The dynamic loader maps every program
// header's file range; when the file ends before one of them, touching the
// mapping past the end raises SIGBUS inside dlopen() and kills the daemon.
// Checked here instead, a truncated or damaged file is a refusal that says
// so.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace adf::plugin::elf {

// Where a table lies in the file, in bytes.
struct Range {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

// From the first bytes of a file of `file_size` bytes (at least the ELF
// header, when the file has one): where its program header table lies, or
// why the file cannot be loaded ("not an ELF file", "a 32-bit ELF file",
// "truncated: ..."), as `problem`. Pure: safe on any bytes.
Range program_header_table(std::string_view head, std::uint64_t file_size, std::string &problem);

// Whether every program header (given as `table`, the bytes program_header_table()
// pointed at) and the section header table lie inside the file; "" when
// they do, else why not. Pure: safe on any bytes.
std::string check_coverage(std::string_view head, std::string_view table,
                           std::uint64_t file_size);

// Both checks over a whole file image in memory; "" when it may be mapped.
std::string check_image(std::string_view image);

// Both checks on the open file `fd`, read with pread(); "" when it may be
// mapped, else why not (an I/O error included).
std::string check_file(int fd);

}  // namespace adf::plugin::elf
