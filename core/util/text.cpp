#include "util/text.h"

#include <cstring>

#include <fmt/format.h>

namespace adf::text {
namespace {

// Where to cut `text` (longer than `length`) at most `length` bytes in:
// before the character that byte `length` belongs to, unless the bytes there
// are no valid UTF-8 (continuation bytes are 10xxxxxx; a character has at
// most three of them).
std::size_t utf8_boundary(std::string_view text, std::size_t length) {
    const auto continuation = [&](std::size_t i) {
        return (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
    };
    std::size_t cut = length;
    while (cut > 0 && length - cut < 3 && continuation(cut)) --cut;
    return continuation(cut) ? length : cut;
}

}  // namespace

std::string bounded(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return std::string(text);
    std::string out(text.substr(0, utf8_boundary(text, max_bytes)));
    out += "...";
    return out;
}

std::string bounded(const char *text, std::size_t max_bytes, std::string_view if_null) {
    if (text == nullptr) return std::string(if_null);
    // strnlen stops at max_bytes + 1: enough to know the string is longer.
    return bounded(std::string_view(text, ::strnlen(text, max_bytes + 1)), max_bytes);
}

void append_printable(std::string &out, std::string_view text, bool escape_quotes) {
    for (const char c : text) {
        switch (c) {
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '"': out += escape_quotes ? "\\\"" : "\""; break;
            case '\\': out += escape_quotes ? "\\\\" : "\\"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                    out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
                else
                    out += c;
        }
    }
}

std::string printable(std::string_view text) {
    std::string out;
    append_printable(out, text);
    return out;
}

}  // namespace adf::text
