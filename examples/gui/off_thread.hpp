// One piece of work off the GUI thread (a connection test, a folder listing), its result handed
// to the GUI thread, as SyncRun does for a sync: the window never waits for a server.
#pragma once

#include <QMetaObject>
#include <QObject>

#include <functional>
#include <stop_token>
#include <thread>
#include <utility>

namespace kitovu::gui {

class OffThread : public QObject {
  public:
    using QObject::QObject;
    // The work still going is asked to stop and waited for; its result is dropped.
    ~OffThread() override {
        thread_.request_stop();
        if (thread_.joinable())
            thread_.join();
    }

    bool busy() const { return busy_; }

    // Runs `work(stop_token)` on a thread of its own and then `done(result)` on the GUI thread.
    // False (nothing started) while earlier work is still going.
    template <class Work, class Done>
    bool run(Work work, Done done) {
        if (busy_)
            return false;
        if (thread_.joinable())
            thread_.join(); // the last work has ended; its thread is done
        busy_ = true;
        thread_ = std::jthread{
            [this, work = std::move(work), done = std::move(done)](std::stop_token stop) mutable {
                auto result = work(stop);
                // Posted to this object: dropped by Qt if it is gone (its destructor waits for us).
                QMetaObject::invokeMethod(
                    this,
                    [this, done = std::move(done), result = std::move(result)]() mutable {
                        busy_ = false;
                        done(std::move(result));
                    },
                    Qt::QueuedConnection);
            }};
        return true;
    }

  private:
    std::jthread thread_;
    bool busy_ = false; // read and written on the GUI thread only
};

} // namespace kitovu::gui
