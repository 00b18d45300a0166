// Optional C++17 helper: the project's one JSON layer over nlohmann::json
// (Debian: nlohmann-json3-dev; header-only, link nlohmann_json::nlohmann_json),
// used by the daemon's config, its host services and the plugins that read a
// provider's JSON. Not part of the ABI.
//
// Outside input is hostile until parsed: parse() refuses nesting deeper than
// a limit before nlohmann builds anything (so no later copy, dump or
// destruction recurses without bound), shown() quotes any value in bounded
// time and space, and string_member() never throws on a member that is
// missing, null or of another type.
//
//   adf::Result<nlohmann::json> body = adf::json::parse(response.body);
//   if (!body) throw adf::Error(ADF_FAILED, "answer is not JSON: " + body.reason());
#ifndef AUTODNSFAILOVER_JSON_HPP
#define AUTODNSFAILOVER_JSON_HPP

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "result.hpp"

namespace adf::json {

// Deep enough for any config or provider answer; shallow enough that every
// recursive algorithm over the value stays far from the stack's end.
constexpr std::size_t kDefaultMaxDepth = 64;

struct ParseOptions {
    std::size_t max_depth = kDefaultMaxDepth;  // arrays and objects inside each other
    bool allow_comments = false;               // "//" and "/* */" (config files)
    // Sees every parse event, as nlohmann's parser_callback_t (return true to
    // keep the value); may be empty. The config uses it to find duplicate keys.
    nlohmann::json::parser_callback_t observer = nullptr;
};

// Line and column (both from 1) of the byte at `offset` in `text`.
inline std::pair<std::size_t, std::size_t> line_and_column(std::string_view text,
                                                           std::size_t offset) {
    offset = std::min(offset, text.size());
    std::size_t line = 1, line_start = 0;
    for (std::size_t i = 0; i < offset; ++i)
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    return {line, offset - line_start + 1};
}

namespace detail {

// The offset of the first '[' or '{' that opens a level deeper than
// `max_depth`, skipping strings and (when allowed) comments; npos when there
// is none. One pass, no allocation: safe on any input.
inline std::size_t first_too_deep(std::string_view text, std::size_t max_depth,
                                  bool allow_comments) {
    std::size_t depth = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"') {
            for (++i; i < text.size() && text[i] != '"'; ++i)
                if (text[i] == '\\') ++i;
        } else if (allow_comments && c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
            while (i < text.size() && text[i] != '\n') ++i;
        } else if (allow_comments && c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
            const std::size_t end = text.find("*/", i + 2);
            if (end == std::string_view::npos) return std::string_view::npos;  // parser says why
            i = end + 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) return i;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return std::string_view::npos;
}

// The text nlohmann quotes as "last read: '...'" is the whole token it was
// reading (an unterminated string or comment: the rest of the input). Keep
// its end, where the fault is.
inline std::string bounded_last_read(const std::string &reason) {
    constexpr std::size_t kKeep = 40;
    const std::string open = "last read: '";
    const std::size_t start = reason.find(open);
    if (start == std::string::npos) return reason;
    const std::size_t from = start + open.size();
    // The token may itself hold "'; " (a comment quoting code), so find its
    // end from the back: nlohmann closes it with "'" and maybe "; expected ...".
    const std::size_t expected = reason.rfind("'; expected ");
    std::size_t end = reason.size();
    if (expected != std::string::npos && expected >= from)
        end = expected;
    else if (!reason.empty() && reason.back() == '\'' && reason.size() - 1 >= from)
        end = reason.size() - 1;
    if (end - from <= kKeep) return reason;
    return reason.substr(0, from) + "..." + reason.substr(end - kKeep);
}

// nlohmann's message without its "[json.exception.parse_error.101] parse
// error at line 1, column 2: " prefix (parse() says where itself), with the
// text it quotes cut short.
inline std::string parse_error_reason(const std::string &what) {
    std::string reason = what;
    if (const std::size_t tag_end = reason.find("] ");
        reason.rfind("[json.exception", 0) == 0 && tag_end != std::string::npos)
        reason = reason.substr(tag_end + 2);
    if (reason.rfind("parse error", 0) == 0)
        if (const std::size_t colon = reason.find(": "); colon != std::string::npos)
            reason = reason.substr(colon + 2);
    return bounded_last_read(reason);
}

inline std::string at(std::string_view text, std::size_t offset, const std::string &what) {
    const auto [line, column] = line_and_column(text, offset);
    return std::to_string(line) + ":" + std::to_string(column) + ": " + what;
}

}  // namespace detail

// Parses `text`. On failure the reason starts with LINE:COLUMN of the fault
// where nlohmann knows it: "1:4097: JSON nested deeper than 64 levels",
// "3:14: JSON syntax error: ...", "JSON value error: number overflow ...".
// Exceptions thrown by the observer propagate.
inline Result<nlohmann::json> parse(std::string_view text, const ParseOptions &options = {}) {
    using Out = Result<nlohmann::json>;
    const std::size_t deep = detail::first_too_deep(text, options.max_depth, options.allow_comments);
    if (deep != std::string_view::npos)
        return Out::failure(detail::at(text, deep, "JSON nested deeper than " +
                                                       std::to_string(options.max_depth) +
                                                       " levels"));
    try {
        return nlohmann::json::parse(text.begin(), text.end(), options.observer,
                                     /*allow_exceptions=*/true, options.allow_comments);
    } catch (const nlohmann::json::parse_error &e) {
        // e.byte counts from 1 and points at the offending character.
        return Out::failure(detail::at(text, e.byte > 0 ? e.byte - 1 : 0,
                                       "JSON syntax error: " + detail::parse_error_reason(e.what())));
    } catch (const nlohmann::json::exception &e) {
        // A number too large for a double ("number overflow parsing '1e999'",
        // the whole token quoted): nlohmann gives no position.
        std::string reason = detail::parse_error_reason(e.what());
        if (reason.size() > 120) reason = reason.substr(0, 117) + "...";
        return Out::failure("JSON value error: " + reason);
    }
}

// `value` as compact JSON for a message, at most about `max_chars`
// characters ("..." marks a cut). Bounded by construction: it stops writing
// at the limit instead of serialising the whole value first, and walks
// nested values with an explicit stack, never by recursion.
inline std::string shown(const nlohmann::json &value, std::size_t max_chars = 60) {
    std::string out;
    struct Frame {
        const nlohmann::json *container;
        nlohmann::json::const_iterator next;
    };
    std::vector<Frame> stack;
    const auto full = [&] { return out.size() >= max_chars; };
    const auto scalar = [&](const nlohmann::json &v) {
        if (v.is_string() && v.get_ref<const std::string &>().size() > max_chars) {
            const std::string &s = v.get_ref<const std::string &>();
            out += nlohmann::json(s.substr(0, max_chars))
                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        } else {
            out += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
    };
    const auto open = [&](const nlohmann::json &v) {
        if (v.is_structured()) {
            out += v.is_object() ? '{' : '[';
            stack.push_back({&v, v.cbegin()});
        } else {
            scalar(v);
        }
    };
    open(value);
    while (!stack.empty() && !full()) {
        Frame &top = stack.back();
        if (top.next == top.container->cend()) {
            out += top.container->is_object() ? '}' : ']';
            stack.pop_back();
            continue;
        }
        if (top.next != top.container->cbegin()) out += ',';
        const auto item = top.next++;
        if (top.container->is_object()) {
            scalar(nlohmann::json(item.key()));
            out += ':';
        }
        open(*item);
    }
    if (out.size() > max_chars || !stack.empty()) {
        out.resize(std::min(out.size(), max_chars > 3 ? max_chars - 3 : 0));
        out += "...";
    }
    return out;
}

// Member `name` of `object` when it is a string, else `fallback` (also when
// `object` is not an object at all).
inline std::string string_member(const nlohmann::json &object, const char *name,
                                 const std::string &fallback = "") {
    if (!object.is_object()) return fallback;
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace adf::json

#endif  // AUTODNSFAILOVER_JSON_HPP
