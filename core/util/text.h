// Text that came from outside the core (a plugin's strings, a provider's
// notes) made safe to keep and to show: bounded before it is copied, and one
// printable line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace adf::text {

// What a plugin may hand over in one string (a log message, an error): a
// longer one is cut. 8 KiB is more than any useful message and what syslog
// daemons keep of a line.
constexpr std::size_t kMaxPluginText = 8192;

// The NUL-terminated `text`, or its first `max_bytes` bytes followed by
// "..." when it is longer, cut between UTF-8 characters. Never reads more
// than max_bytes + 1 bytes of it, so a string without its NUL costs no more.
// `if_null` stands for NULL.
std::string bounded(const char *text, std::size_t max_bytes, std::string_view if_null = "");

// The same for text already in memory.
std::string bounded(std::string_view text, std::size_t max_bytes);

// Appends `text` to `out` with control characters escaped ("\n", "\t",
// "\x1b"), so it stays one line and cannot drive a terminal; with
// `escape_quotes`, '"' and '\' are escaped too (for quoted values).
void append_printable(std::string &out, std::string_view text, bool escape_quotes = false);

// `text` as append_printable() writes it.
std::string printable(std::string_view text);

}  // namespace adf::text
