// The smallest coroutine types ocs-radiusd needs (C++20, no library).
//
// Task<T>: a coroutine that returns a T (or throws), started when another
// coroutine awaits it, which resumes when it ends (symmetric transfer, so a
// chain of tasks never grows the stack). Detached: a coroutine nobody
// awaits, which runs as soon as it is called and frees itself at its end;
// its body must catch everything (an escaping exception terminates).
//
// A coroutine suspends only in an awaitable that hands it to someone else
// (ocs-radiusd's Pipeline: a database batch on a runner thread), which
// resumes it, possibly on another thread. Whatever it references must live
// until it ends: its own frame does (parameters taken by value), a caller's
// frame does while the caller awaits it.
//
// House rule: each co_await is a statement of its own or the initializer of
// a named variable, never inside ?:, a braced initializer or a function
// argument. Those are the forms the sanitizer builds run here; GCC has had
// coroutine bugs around temporaries in more involved expressions, and the
// rule costs nothing.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace ocs {

template <typename T>
class [[nodiscard]] Task {
 public:
  struct promise_type {
    std::optional<T> value;
    std::exception_ptr error;
    std::coroutine_handle<> continuation = std::noop_coroutine();

    Task get_return_object() noexcept { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct Final {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          return h.promise().continuation;
        }
        void await_resume() const noexcept {}
      };
      return Final{};
    }
    template <typename U>
    void return_value(U&& v) {
      value.emplace(std::forward<U>(v));
    }
    void unhandled_exception() noexcept { error = std::current_exception(); }
  };

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
    handle_.promise().continuation = caller;
    return handle_;
  }
  T await_resume() {
    auto& p = handle_.promise();
    if (p.error) std::rethrow_exception(p.error);
    return std::move(*p.value);
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

}  // namespace ocs
