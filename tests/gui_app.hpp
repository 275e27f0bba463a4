// The GUI tests' application: it measures how long the GUI thread works on each event it
// handles, in the thread's own CPU time. That is the GUI thread's own work per event, which
// decides whether the window can respond, whatever else the machine is doing; wall-clock gaps
// also count the time the thread waits for a core on a busy machine (CI runs -j2, sanitizers).
#pragma once

#include <QApplication>

#include <time.h>

#include <algorithm>
#include <chrono>

namespace kitovu::test {

class TimedApplication : public QApplication {
  public:
    using QApplication::QApplication;

    bool notify(QObject* receiver, QEvent* event) override {
        if (depth_++ > 0) { // nested: counted in the outer event
            const bool handled = QApplication::notify(receiver, event);
            --depth_;
            return handled;
        }
        const auto before = thread_time();
        const bool handled = QApplication::notify(receiver, event);
        worst_ = std::max(worst_, thread_time() - before);
        --depth_;
        return handled;
    }

    static TimedApplication& get() { return *static_cast<TimedApplication*>(instance()); }
    void reset_worst() { worst_ = {}; }
    std::chrono::nanoseconds worst() const { return worst_; }

  private:
    static std::chrono::nanoseconds thread_time() {
        ::timespec now{};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
        return std::chrono::seconds{now.tv_sec} + std::chrono::nanoseconds{now.tv_nsec};
    }

    int depth_ = 0;
    std::chrono::nanoseconds worst_{};
};

} // namespace kitovu::test
