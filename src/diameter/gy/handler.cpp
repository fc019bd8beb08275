#include "handler.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <utility>
#include <variant>
#include <vector>

#include "../store_answer.hpp"
#include "ocs/common/clock.hpp"

namespace ocs::gy {

/// One CCR of a batch, from its arrival to its answer.
struct Handler::Job {
  msg* m = nullptr;
  std::chrono::steady_clock::time_point started;
  Ccr ccr;
  std::optional<Cca> cca;             // known without the store (a rejection)
  std::optional<std::size_t> charge;  // else its position in the batch's requests
  std::size_t batch = 1;               // CCRs charged together with it
  std::string subscriber;
  bool replayed = false;
};

Cca Handler::answer(const Ccr& ccr, const store::ChargeOutcome& outcome, std::string& subscriber, bool& replayed) {
  if (const auto* result = std::get_if<store::ChargeResult>(&outcome)) {
    subscriber = result->subscriber;
    replayed = result->replayed;
    Cca cca = to_cca(ccr, *result, options_);
    if (cca.result_code == kUnableToComply && !result->currency.empty() && !iso4217_numeric(result->currency))
      log_->warn("gy session={}: price enquiry in currency {}, which has no ISO 4217 numeric code known to the "
                 "OCS (Currency-Code): answered 5012",
                 ccr.session_id, result->currency);
    return cca;
  }
  const auto& e = std::get<store::StoreError>(outcome);
  log_->error("gy session={} type={} number={}: store: {}", ccr.session_id, fdx::request_type_letter(ccr.request_type),
              ccr.request_number.value_or(0), e.what());
  return fdx::store_error_answer<Cca>(ccr, e);
}

void Handler::handle(msg** pmsg) noexcept {
  msg* one[] = {*pmsg};
  *pmsg = nullptr;
  handle_batch(one);
}

void Handler::handle_batch(std::span<msg*> requests) noexcept {
  const auto started = std::chrono::steady_clock::now();
  std::vector<Job> jobs;
  std::vector<store::ChargeRequest> charges;
  try {
    jobs.reserve(requests.size());
    charges.reserve(requests.size());
  } catch (...) {
  }
  // Decode and map each request; one that cannot be read is answered 5012
  // at once, one the mapping rejects waits with its answer.
  for (msg*& m : requests) {
    Job job;
    job.m = std::exchange(m, nullptr);
    job.started = started;
    job.batch = requests.size();
    try {
      job.ccr = read_ccr(job.m, dict_);
      auto mapped = to_charge_request(job.ccr, options_);
      if (auto* rejection = std::get_if<Rejection>(&mapped)) {
        job.cca = rejection->answer;
      } else {
        job.charge = charges.size();
        charges.push_back(std::move(std::get<store::ChargeRequest>(mapped)));
      }
      jobs.push_back(std::move(job));
    } catch (...) {
      log_->error("gy session={}: cannot read the request; answering 5012", job.ccr.session_id);
      fdx::answer_error(&job.m);
      if (job.m) (void)fd_msg_free(job.m);
    }
  }
  // Charge them together: this returns after the commit.
  std::vector<store::ChargeOutcome> outcomes;
  if (!charges.empty()) {
    try {
      outcomes = store_.charge_batch(charges, seconds_now());
    } catch (const std::exception& e) {
      outcomes.clear();
      log_->error("gy: charging a batch of {}: {}", charges.size(), e.what());
    } catch (...) {
      outcomes.clear();
      log_->error("gy: charging a batch of {} failed", charges.size());
    }
  }
  for (auto& job : jobs) {
    try {
      if (job.charge) {
        const store::ChargeOutcome failed =
            store::StoreError(store::StoreError::Kind::Internal, "the batch was not charged");
        job.cca = answer(job.ccr, *job.charge < outcomes.size() ? outcomes[*job.charge] : failed, job.subscriber,
                         job.replayed);
      }
    } catch (const std::exception& e) {
      log_->error("gy session={}: cannot answer: {}", job.ccr.session_id, e.what());
      job.cca.reset();
    } catch (...) {
      job.cca.reset();
    }
    finish(job);
  }
}

/// Builds and sends the job's answer (5012 when it has none).
void Handler::finish(Job& job) noexcept {
  msg** pmsg = &job.m;
  try {
    if (!job.cca) throw std::runtime_error("no answer");
    const Cca& cca = *job.cca;
    build_cca(pmsg, cca, dict_);
    fdx::send(pmsg);
    if (log_->should_log(spdlog::level::info)) {  // no string building on the hot path otherwise
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - job.started).count();
      std::string rgs;
      for (const auto& m : cca.mscc)
        rgs += (rgs.empty() ? "" : ",") + std::to_string(m.rating_group.value_or(options_.default_rating_group)) +
               ":" + std::to_string(m.result_code);
      std::string enquiry;
      if (cca.check_balance_result)
        enquiry = *cca.check_balance_result == kEnoughCredit ? " check_balance=enough_credit" : " check_balance=no_credit";
      if (cca.cost_information)
        enquiry = " price=" + std::to_string(cca.cost_information->value_digits) + "e" +
                  std::to_string(cca.cost_information->exponent) + " currency_code=" +
                  std::to_string(cca.cost_information->currency_code);
      log_->info("gy session={} type={} number={} subscriber={} result={} mscc=[{}]{}{}{} batch={} took={:.1f}ms",
                 job.ccr.session_id, fdx::request_type_letter(job.ccr.request_type), job.ccr.request_number.value_or(0),
                 job.subscriber.empty() ? "-" : job.subscriber, cca.result_code, rgs, enquiry,
                 job.replayed ? " replay" : "", job.ccr.retransmission ? " T-flag" : "", job.batch, ms);
    }
  } catch (const std::exception& e) {
    log_->error("gy session={}: cannot answer: {}; answering 5012", job.ccr.session_id, e.what());
    fdx::answer_error(pmsg);
  } catch (...) {
    log_->error("gy session={}: cannot answer; answering 5012", job.ccr.session_id);
    fdx::answer_error(pmsg);
  }
  if (*pmsg) {
    (void)fd_msg_free(*pmsg);
    *pmsg = nullptr;
  }
}

}  // namespace ocs::gy
