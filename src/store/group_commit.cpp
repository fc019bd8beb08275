#include "ocs/store/group_commit.hpp"

#include <algorithm>
#include <vector>

namespace ocs::store {

GroupCommitStore::GroupCommitStore(ChargingStore& inner, std::size_t batch_max, std::size_t parallel)
    : inner_(inner), batches_(batch_max, parallel, [this](std::vector<Item>& batch) { return run_batch(batch); }) {}

ChargeResult GroupCommitStore::charge(const ChargeRequest& req, TimePoint now) {
  ChargeOutcome outcome = batches_.call(Item{&req, now});
  if (auto* e = std::get_if<StoreError>(&outcome)) throw *e;
  return std::move(std::get<ChargeResult>(outcome));
}

std::vector<ChargeOutcome> GroupCommitStore::run_batch(std::vector<Item>& batch) {
  std::vector<ChargeOutcome> outcomes;
  if (batch.size() == 1) {
    try {
      outcomes.emplace_back(inner_.charge(*batch.front().request, batch.front().now));
    } catch (const StoreError& e) {
      outcomes.emplace_back(e);
    }
    return outcomes;
  }
  // One clock for the batch: the latest of its requests' (they arrived
  // while the previous batch ran, within milliseconds of each other).
  std::vector<ChargeRequest> requests;
  requests.reserve(batch.size());
  TimePoint now = batch.front().now;
  for (const Item& item : batch) {
    requests.push_back(*item.request);
    now = std::max(now, item.now);
  }
  return inner_.charge_batch(requests, now);
}

}  // namespace ocs::store
