// The Gy request handler: decode, map, charge, map, answer. Runs on the
// extension's worker threads, never on freeDiameter's dispatch threads.
#pragma once

#include <memory>
#include <span>
#include <string>

#include <spdlog/spdlog.h>

#include "ocs/store/store.hpp"
#include "wire.hpp"

namespace ocs::gy {

class Handler {
 public:
  Handler(const Dict& dict, store::ChargingStore& store, Options options, std::shared_ptr<spdlog::logger> log)
      : dict_(dict), store_(store), options_(options), log_(std::move(log)) {}

  /// Answers the CCR in *pmsg (and sends it). Never throws; *pmsg is null
  /// afterwards.
  void handle(msg** pmsg) noexcept;

  /// Answers every CCR of `requests`, charged together with one
  /// ChargingStore::charge_batch call: an answer that depends on the store
  /// is built and sent only after charge_batch returned, i.e. after its
  /// transaction committed. Never throws; every entry is null afterwards.
  void handle_batch(std::span<msg*> requests) noexcept;

 private:
  struct Job;
  Cca answer(const Ccr& ccr, const store::ChargeOutcome& outcome, std::string& subscriber, bool& replayed);
  void finish(Job& job) noexcept;

  const Dict& dict_;
  store::ChargingStore& store_;
  const Options options_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace ocs::gy
