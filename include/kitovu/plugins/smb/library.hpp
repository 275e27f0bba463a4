// The smb plugin's hold on libsmbclient: the one process-wide lock every call takes, and where
// libsmbclient's own output goes (never to the user's terminal).
#pragma once

#include <libsmbclient.h>

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>

#include <sys/types.h>

#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kitovu::detail::smb {

// The libsmbclient functions the plugin calls, each named without its "smbc_" (one a line:
// clang-format folds the list into a staircase).
// clang-format off
#define KITOVU_SMBC_FUNCTIONS(X)      \
    X(new_context)                    \
    X(free_context)                   \
    X(init_context)                   \
    X(setDebug)                       \
    X(setOptionDebugToStderr)         \
    X(setLogCallback)                 \
    X(setFunctionAuthDataWithContext) \
    X(getFunctionCheckServer)         \
    X(getFunctionAddCachedServer)     \
    X(setFunctionCheckServer)         \
    X(setFunctionAddCachedServer)     \
    X(setOptionUserData)              \
    X(getOptionUserData)              \
    X(setWorkgroup)                   \
    X(setUser)                        \
    X(setPort)                        \
    X(setTimeout)                     \
    X(setOptionUseKerberos)           \
    X(setOptionFallbackAfterKerberos) \
    X(setOptionUseCCache)             \
    X(setOptionNoAutoAnonymousLogin)  \
    X(setOptionSmbEncryptionLevel)    \
    X(setConfiguration)               \
    X(getFunctionStat)                \
    X(getFunctionOpen)                \
    X(getFunctionRead)                \
    X(getFunctionClose)               \
    X(getFunctionOpendir)             \
    X(getFunctionClosedir)            \
    X(getFunctionReaddirPlus)         \
    X(getFunctionReaddirPlus2)        \
    X(getFunctionTelldir)             \
    X(getFunctionLseekdir)
// clang-format on

// libsmbclient is opened at run time, not linked: with what it needs it is 90 libraries more,
// which take 130 ms and more to load from a cold disk, before main() if linked. Opened in a thread
// at the first login, it loads while the probe waits for the server (SmbPlugin::log_in). Not
// earlier: glibc's dlopen holds a lock that pthread_create waits for, and a run starts its
// threads before it logs in.
struct Functions {
#define KITOVU_SMBC_POINTER(name) decltype(&::smbc_##name) name = nullptr;
    KITOVU_SMBC_FUNCTIONS(KITOVU_SMBC_POINTER)
#undef KITOVU_SMBC_POINTER
    std::string missing; // why libsmbclient cannot be used; empty when it can
};

inline Functions open_libsmbclient(const std::string& file = "libsmbclient.so.0") {
    Functions functions;
    void* library = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL); // never closed
    if (library == nullptr) {
        const char* why = ::dlerror();
        functions.missing = why != nullptr ? why : file + " cannot be opened";
        return functions;
    }
#define KITOVU_SMBC_LOOKUP(name)                                                                   \
    functions.name = reinterpret_cast<decltype(functions.name)>(::dlsym(library, "smbc_" #name));  \
    if (functions.name == nullptr && functions.missing.empty())                                    \
        functions.missing = file + " has no smbc_" #name;
    KITOVU_SMBC_FUNCTIONS(KITOVU_SMBC_LOOKUP)
#undef KITOVU_SMBC_LOOKUP
    return functions;
}

inline std::shared_future<Functions>& opening() {
    static std::shared_future<Functions> future;
    return future;
}

// Starts opening libsmbclient, once per process; where no thread can be started, opens it here.
inline void open_in_background() noexcept {
    static std::once_flag once;
    std::call_once(once, [] {
        try {
            opening() = std::async(std::launch::async, [] { return open_libsmbclient(); }).share();
        } catch (...) {
            std::promise<Functions> here;
            here.set_value(open_libsmbclient());
            opening() = here.get_future().share();
        }
    });
}

// libsmbclient's functions, once it is open (see Functions::missing).
inline const Functions& smbc() {
    open_in_background();
    return opening().get();
}

// A helper process of this process (SmbPlugin::start_helper): logged in on its own connection,
// it lists folders and downloads files for the instance that holds it.
struct Helper {
    pid_t pid = -1;
    int fd = -1;                 // this side of the socket pair
    std::byte* shared = nullptr; // the blocks of a download, mapped in both processes
    bool ready = false;          // its login is over (Message::ready was read)
    bool parked = false;         // waits for Message::go before it logs in
    pid_t forker = 0;            // the thread that forked it, with which it ends (PR_SET_PDEATHSIG)
};

// libsmbclient is not thread-safe, not even with one context per thread: it keeps process-wide
// state (the talloc stack, the loaded smb.conf, debug settings, a count of live contexts), and
// smbc_thread_posix(), which would make the talloc stack per-thread, is not exported by Debian's
// 4.17 build. So every call into it in one process holds this one lock, and downloads run in
// processes of their own (SmbPlugin::start_helper), one per worker. The lock also guards the
// fields below.
struct Library {
    std::mutex mutex;
    int contexts = 0;          // live contexts of this plugin; at 0 libsmbclient unloads its config
    std::string loaded_config; // the client settings last loaded (see SmbPlugin::client_config)
    std::string last_log;      // libsmbclient's latest log lines: for diagnoses, never printed
    bool unencrypted = false;  // libsmbclient went on without the encryption it was told to require
    // Logins here that succeeded, by SmbPlugin::login_key, counted while their instances live and
    // those that opened on the strength of one (SmbPlugin::connect).
    std::map<std::string, int> logged_in;
    // Helper processes that finished listing and no instance holds yet, by the login_key they
    // logged in with: a download takes one rather than logging in again (a dozen round trips over
    // a slow link). Ended when the last instance that vouched for their login goes.
    std::vector<std::pair<std::string, Helper>> idle;
    // Per login_key, an eventfd that is readable while a helper of that login is idle and ready:
    // a download process still logging in gives way to it (SmbPlugin::await_ready).
    std::map<std::string, int> idle_ready;
    // Called once when the login under way in this process logs that its session setup succeeded
    // (at log level 4): the server took the password (SmbPlugin::park_listers).
    std::function<void()> on_session_setup;
};

inline Library& library() {
    static Library instance;
    return instance;
}

// Installed as libsmbclient's (process-wide) log sink, so it never prints to stdout or stderr.
// Keeps the latest lines, for telling some failures apart.
inline void keep_log(void* /*unused*/, int /*level*/, const char* message) {
    std::string& log = library().last_log;
    if (log.size() > 4096)
        log.erase(0, log.size() - 2048);
    log += message != nullptr ? message : "";
    auto& heard = library().on_session_setup;
    if (heard && message != nullptr &&
        std::string_view{message}.find(" session setup ok") != std::string_view::npos)
        std::exchange(heard, nullptr)();
}

} // namespace kitovu::detail::smb

// libsmbclient (4.17) prints some failures with Samba's d_printf, which writes to stdout: into
// `--json` output or onto the user's terminal. This definition takes its place in any program
// that includes this header (the dynamic linker binds the library's calls to it), keeps the text
// with the log, and notes the one failure that must not pass silently: "Encryption required and
// server doesn't support SMB3 encryption - failing connect", after which libsmbclient goes on
// unencrypted. Weak, so that every file including this header may define it. Called only inside
// libsmbclient, so with the library lock held.
extern "C" __attribute__((weak, used, format(printf, 1, 2))) int d_printf(const char* format, ...) {
    va_list arguments;
    va_start(arguments, format);
    char text[1024];
    const int length = std::vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    if (length < 0)
        return length;
    auto& library = kitovu::detail::smb::library();
    if (std::string_view{text}.starts_with("Encryption required"))
        library.unencrypted = true;
    kitovu::detail::smb::keep_log(nullptr, 0, text);
    return length;
}

namespace kitovu::detail::smb {

// One call into libsmbclient: holds the library lock, and blocks SIGPIPE in this thread for the
// call, since libsmbclient writes to sockets that a stopped server has closed (its own init blocks
// SIGPIPE only in the thread that happens to create the first context). A SIGPIPE raised meanwhile
// is consumed before the thread's signal mask is restored.
class Call {
  public:
    Call() : lock_(library().mutex) {
        sigset_t pipe = sigpipe();
        ::pthread_sigmask(SIG_BLOCK, &pipe, &previous_);
    }
    ~Call() {
        if (::sigismember(&previous_, SIGPIPE) == 0) {
            sigset_t pending;
            sigemptyset(&pending);
            if (::sigpending(&pending) == 0 && ::sigismember(&pending, SIGPIPE) == 1) {
                const sigset_t pipe = sigpipe();
                const timespec zero{};
                ::sigtimedwait(&pipe, nullptr, &zero);
            }
        }
        ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    // In a child forked under this lock: the child's copy of the lock is released; SIGPIPE stays
    // blocked in the child (it writes to sockets only with MSG_NOSIGNAL or through libsmbclient).
    void release_in_child() { lock_.unlock(); }

  private:
    static sigset_t sigpipe() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        return set;
    }

    std::unique_lock<std::mutex> lock_;
    sigset_t previous_{};
};

} // namespace kitovu::detail::smb
