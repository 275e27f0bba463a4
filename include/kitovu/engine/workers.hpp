// The transfer workers of a run and the queue that feeds them: the planner pushes jobs, each
// worker (a Transfer on a thread of its own) takes the next. How many: --jobs, or as many as the
// link needs (plugin/link.hpp).
#pragma once

#include "kitovu/engine/job.hpp"
#include "kitovu/engine/transfer.hpp"
#include "kitovu/engine/work_queue.hpp"
#include "kitovu/plugin/link.hpp"

#include <ctime>
#include <deque>
#include <thread>
#include <vector>

namespace kitovu::detail {

class Workers {
  public:
    Workers(const Settings& settings, const SyncOptions& options, Connections& connections,
            Ledger& ledger, std::time_t run_start)
        : settings_(settings), options_(options), connections_(connections), ledger_(ledger),
          run_start_(run_start) {
        if (!options_.dry_run)
            add(options_.jobs > 0 ? options_.jobs : jobs_for_link({}));
    }
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;
    ~Workers() { finish(); }

    void push(Job job) { queue_.push(std::move(job)); }

    // Where the user chose no --jobs: more workers once a listing shows a slow link.
    void add_for(const SyncPlugin& lister) {
        if (options_.jobs > 0 || options_.dry_run || finished_)
            return;
        add(jobs_for_link(lister.round_trip()));
    }

    // No more jobs come: waits until the workers have done the queued ones.
    void finish() {
        queue_.close();
        threads_.clear(); // joins them
        finished_ = true;
    }

  private:
    void add(unsigned wanted) {
        while (threads_.size() < wanted) {
            Transfer& transfer =
                transfers_.emplace_back(settings_, options_, connections_, ledger_, run_start_);
            threads_.emplace_back([this, &transfer] { transfer.work(queue_); });
        }
    }

    const Settings& settings_;
    const SyncOptions& options_;
    Connections& connections_;
    Ledger& ledger_;
    const std::time_t run_start_;
    WorkQueue<Job> queue_{2048};
    std::deque<Transfer> transfers_; // one per thread, each with its own plugin instances
    std::vector<std::jthread> threads_;
    bool finished_ = false;
};

} // namespace kitovu::detail
