#include "pipeline.hpp"

#include <algorithm>
#include <utility>

namespace ocs::radiusd {

// A runner for each batch that may run (lookups and charges) and one for the
// blocking jobs, one at a time, so that a slow job holds up no batch.
Pipeline::Pipeline(store::ChargingStore& charging, store::RadiusStore& users, std::size_t batch_max,
                   std::size_t parallel)
    : charging_(charging), users_(users), batch_max_(std::max<std::size_t>(batch_max, 1)),
      parallel_(std::max<std::size_t>(parallel, 1)), runners_(2 * parallel_ + 1) {
  threads_.reserve(runners_);
  for (std::size_t i = 0; i < runners_; ++i) threads_.emplace_back([this] { runner(); });
}

Pipeline::~Pipeline() { stop(); }

void Pipeline::stop() {
  {
    std::lock_guard g(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

Pipeline::Awaitable<std::optional<store::RadiusUser>> Pipeline::find_user(const std::string& user_name,
                                                                        const std::string& vendor) {
  Awaitable<std::optional<store::RadiusUser>> a{this, {}};
  a.op.kind = Kind::Lookup;
  a.op.query = store::RadiusStore::UserQuery{user_name, vendor};
  return a;
}

Pipeline::Awaitable<store::ChargeResult> Pipeline::charge(const store::ChargeRequest& request, TimePoint now) {
  Awaitable<store::ChargeResult> a{this, {}};
  a.op.kind = Kind::Charge;
  a.op.request = &request;
  a.op.now = now;
  return a;
}

Pipeline::Awaitable<void> Pipeline::run(std::function<void()> job) {
  Awaitable<void> a{this, {}};
  a.op.kind = Kind::Job;
  a.op.job = std::move(job);
  return a;
}

Pipeline::Stats Pipeline::stats() const {
  std::lock_guard g(mu_);
  return stats_;
}

bool Pipeline::startable(Kind k) const {
  switch (k) {
    case Kind::Lookup: return !lookups_.empty() && lookups_running_ < parallel_;
    case Kind::Charge: return !charges_.empty() && charges_running_ < parallel_;
    // The runners beyond the batches' (one): a slow job never holds up a
    // lookup or a charge.
    case Kind::Job: return !jobs_.empty() && jobs_running_ + 2 * parallel_ < runners_;
  }
  return false;
}

bool Pipeline::drained() const {
  return stopping_ && busy_ == 0 && lookups_.empty() && charges_.empty() && jobs_.empty();
}

void Pipeline::push(Op* op) {
  bool wake = false;
  {
    std::lock_guard g(mu_);
    auto& queue = op->kind == Kind::Lookup ? lookups_ : op->kind == Kind::Charge ? charges_ : jobs_;
    queue.push_back(op);
    // Only when a runner could start it now and none is about to look:
    // a busy runner takes the queue when it is done, without sleeping.
    wake = startable(op->kind) && busy_ < runners_;
  }
  if (wake) wake_.notify_one();
}

void Pipeline::runner() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] {
      return startable(Kind::Lookup) || startable(Kind::Charge) || startable(Kind::Job) || drained();
    });
    if (drained()) {
      wake_.notify_all();  // the others see it too
      return;
    }
    // Lookups first: each is a request that will charge next.
    const Kind kind = startable(Kind::Lookup) ? Kind::Lookup : startable(Kind::Charge) ? Kind::Charge : Kind::Job;
    auto& queue = kind == Kind::Lookup ? lookups_ : kind == Kind::Charge ? charges_ : jobs_;
    std::vector<Op*> batch;
    const std::size_t take = kind == Kind::Job ? 1 : std::min(queue.size(), batch_max_);
    batch.assign(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(take));
    queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(take));
    std::size_t& running = kind == Kind::Lookup ? lookups_running_ : kind == Kind::Charge ? charges_running_
                                                                                            : jobs_running_;
    ++running;
    ++busy_;
    // Another runner may start what is left.
    if (startable(Kind::Lookup) || startable(Kind::Charge) || startable(Kind::Job)) wake_.notify_one();
    lock.unlock();

    switch (kind) {
      case Kind::Lookup: serve_lookups(batch); break;
      case Kind::Charge: serve_charges(batch); break;
      case Kind::Job:
        try {
          batch.front()->job();
        } catch (...) {
          batch.front()->error = std::current_exception();
        }
        break;
    }
    // Free the slot before resuming: a resumed request may queue the next
    // step of its own, which another runner can then start.
    lock.lock();
    --running;
    // Its next batch can start while this runner resumes these requests.
    if (startable(kind)) wake_.notify_one();
    if (kind == Kind::Job) {
      ++stats_.jobs;
    } else {
      BatchStats& st = kind == Kind::Lookup ? stats_.lookups : stats_.charges;
      ++st.batches;
      st.requests += batch.size();
      st.largest = std::max(st.largest, batch.size());
    }
    lock.unlock();
    for (Op* op : batch) op->resume.resume();  // each runs to its next await or its end
    lock.lock();
    --busy_;
  }
}

void Pipeline::serve_lookups(std::vector<Op*>& ops) {
  std::vector<store::RadiusStore::UserQuery> queries;
  queries.reserve(ops.size());
  for (const Op* op : ops) queries.push_back(op->query);
  try {
    auto users = users_.find_users(queries);
    for (std::size_t i = 0; i < ops.size(); ++i) ops[i]->user = std::move(users.at(i));
  } catch (...) {
    for (Op* op : ops) op->error = std::current_exception();
  }
}

void Pipeline::serve_charges(std::vector<Op*>& ops) {
  try {
    if (ops.size() == 1) {
      ops.front()->result = charging_.charge(*ops.front()->request, ops.front()->now);
      return;
    }
    // One clock for the batch: the latest of its requests' (they arrived
    // while the previous batch ran, within milliseconds of each other).
    std::vector<store::ChargeRequest> requests;
    requests.reserve(ops.size());
    TimePoint now = ops.front()->now;
    for (const Op* op : ops) {
      requests.push_back(*op->request);
      now = std::max(now, op->now);
    }
    auto outcomes = charging_.charge_batch(requests, now);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (auto* e = std::get_if<store::StoreError>(&outcomes.at(i))) {
        ops[i]->error = std::make_exception_ptr(*e);
      } else {
        ops[i]->result = std::move(std::get<store::ChargeResult>(outcomes[i]));
      }
    }
  } catch (...) {
    for (Op* op : ops) op->error = std::current_exception();
  }
}

}  // namespace ocs::radiusd
