// FunctionRef<R(Args...)>: a non-owning reference to any callable (C++26's std::function_ref).
// The type of the sinks, filters and writers of the public API (WarningSink, ListSink,
// ListFilter, ChunkWriter): pass any lambda; nothing is allocated or copied. Do not keep one
// beyond the call it was passed to.
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace kitovu {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
  public:
    // Binds to the callable for the duration of the call it is passed to; a temporary lambda
    // lives until the end of that full expression, which is long enough.
    template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, FunctionRef> &&
             std::is_invocable_r_v<R, std::remove_reference_t<F>&, Args...>) FunctionRef(F&& f)
    noexcept // NOLINT(google-explicit-constructor): a callable is a FunctionRef
        : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
          call_([](void* object, Args... args) -> R {
              return std::invoke(*static_cast<std::remove_reference_t<F>*>(object),
                                 std::forward<Args>(args)...);
          }) {}

    R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

  private:
    void* object_;
    R (*call_)(void*, Args...);
};

} // namespace kitovu
