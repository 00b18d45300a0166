// Optional C++17 helper: a value, or the reason there is none. Not part of
// the ABI; header-only, and free of plugin.hpp so the daemon's core uses it
// too. The one way the project says "value or reason" across its parsers,
// file reads and decoders:
//
//   adf::Result<std::string> secret = adf::read_regular_file(path, 64 * 1024);
//   if (!secret) return fail(path + ": " + secret.reason());
//   use(*secret);
#ifndef AUTODNSFAILOVER_RESULT_HPP
#define AUTODNSFAILOVER_RESULT_HPP

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace adf {

template <class T>
class Result {
   public:
    // A value (implicit, so `return value;` works).
    Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    // No value, and why: a sentence an operator can act on.
    static Result failure(std::string reason) {
        Result r;
        r.reason_ = std::move(reason);
        return r;
    }

    bool ok() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    // Empty when ok().
    const std::string &reason() const noexcept { return reason_; }

    // The value; std::logic_error when there is none (a bug of the caller).
    const T &value() const & {
        require();
        return *value_;
    }
    T &value() & {
        require();
        return *value_;
    }
    T &&value() && {
        require();
        return std::move(*value_);
    }
    const T &operator*() const & { return value(); }
    T &operator*() & { return value(); }
    const T *operator->() const { return &value(); }
    T *operator->() { return &value(); }

   private:
    Result() = default;
    void require() const {
        if (!value_) throw std::logic_error("no value in a failed Result: " + reason_);
    }
    std::optional<T> value_;
    std::string reason_;
};

}  // namespace adf

#endif  // AUTODNSFAILOVER_RESULT_HPP
