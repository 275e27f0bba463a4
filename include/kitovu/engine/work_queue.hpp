// A bounded queue between the thread that plans and the workers that download: planning runs
// ahead of the downloads, but memory stays bounded however large the tree.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace kitovu::detail {

template <class Job>
class WorkQueue {
  public:
    explicit WorkQueue(std::size_t capacity) : capacity_(capacity) {}

    // Waits while the queue is full.
    void push(Job job) {
        {
            std::unique_lock lock{mutex_};
            space_.wait(lock, [this] { return queue_.size() < capacity_; });
            queue_.push_back(std::move(job));
        }
        ready_.notify_one();
    }

    // No more jobs come: workers drain what is queued, then pop() returns nothing.
    void close() {
        {
            std::scoped_lock lock{mutex_};
            closed_ = true;
        }
        ready_.notify_all();
    }

    // Waits for a job; nothing once the queue is closed and empty.
    std::optional<Job> pop() {
        std::unique_lock lock{mutex_};
        ready_.wait(lock, [this] { return closed_ || !queue_.empty(); });
        if (queue_.empty())
            return std::nullopt;
        Job job = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        space_.notify_one();
        return job;
    }

  private:
    const std::size_t capacity_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::condition_variable space_;
    std::deque<Job> queue_;
    bool closed_ = false;
};

} // namespace kitovu::detail
