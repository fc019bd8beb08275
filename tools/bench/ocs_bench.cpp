// ocs-bench: the Gy and RADIUS load generator (see tools/bench/load.hpp,
// tools/bench/radius_load.hpp and docs/benchmarks.md). Prints a human
// summary, then one machine-readable last line: "RESULT key=value ..." or,
// with --json, a JSON object.
#include <sys/resource.h>

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "load.hpp"
#include "options.hpp"
#include "radius_load.hpp"

namespace {

using ocs::bench::Histogram;
using ocs::bench::Options;
using ocs::bench::Results;

double ms(std::uint64_t micros) { return static_cast<double>(micros) / 1000.0; }

/// CPU seconds (user + system) this process has used so far: the
/// generator's own share of the machine, printed so it can be told apart.
double cpu_seconds() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  const auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string codes_text(const std::map<std::uint32_t, std::uint64_t>& codes, char sep, bool json) {
  std::string out;
  for (const auto& [rc, n] : codes) {
    if (!out.empty()) out += sep;
    out += json ? "\"" + std::to_string(rc) + "\":" + std::to_string(n) : std::to_string(rc) + ":" + std::to_string(n);
  }
  return out.empty() && !json ? "-" : out;
}

void print_summary(const Options& o, const Results& r, double rate, double cpu_s) {
  const char* mode = o.rate > 0 ? "open loop" : "closed loop";
  std::printf("ocs-bench%s%s: %s, %d connection(s), %d sessions, %d updates/session, %s:%d\n",
              o.label.empty() ? "" : " ", o.label.c_str(), mode, o.connections, o.sessions, o.updates, o.host.c_str(),
              o.port);
  if (o.rate > 0) std::printf("  target rate     %.0f CCR/s (missed ticks: %" PRIu64 ")\n", o.rate, r.missed_ticks);
  std::printf("  window          %.2f s measured (%.2f s in all, warm-up %.1f s); generator CPU %.2f s (%.2f cores)\n",
              r.window_s, r.elapsed_s, o.warmup_s, cpu_s, r.elapsed_s > 0 ? cpu_s / r.elapsed_s : 0);
  std::printf("  throughput      %.0f CCR/s answered (%" PRIu64 " answered of %" PRIu64 " sent in the window)\n", rate,
              r.answered_measured, r.sent_measured);
  std::printf("  latency (ms)    p50 %.3f  p95 %.3f  p99 %.3f  max %.3f\n", ms(r.latency.percentile(0.50)),
              ms(r.latency.percentile(0.95)), ms(r.latency.percentile(0.99)), ms(r.latency.max()));
  const char* names[] = {"CCR-I", "CCR-U", "CCR-T"};
  for (std::size_t i = 0; i < r.by_type.size(); ++i) {
    const Histogram& h = r.by_type[i];
    std::printf("    %s         p50 %.3f  p99 %.3f  max %.3f  (%" PRIu64 ")\n", names[i], ms(h.percentile(0.5)),
                ms(h.percentile(0.99)), ms(h.max()), h.count());
  }
  std::printf("  result codes    command %s; MSCC %s\n", codes_text(r.result_codes, ' ', false).c_str(),
              codes_text(r.mscc_result_codes, ' ', false).c_str());
  std::printf("  errors          %" PRIu64 " (timeouts %" PRIu64 ", connection closed %" PRIu64 ", send errors %" PRIu64
              ", no Result-Code %" PRIu64 ", late answers %" PRIu64 ")\n",
              r.errors(), r.timeouts, r.closed, r.send_errors, r.missing_result_code, r.late_answers);
  std::printf("  sessions        %" PRIu64 " completed, %" PRIu64 " abandoned; %" PRIu64 " CCRs sent in all\n",
              r.sessions_completed, r.sessions_abandoned, r.sent_total);
  std::printf("  reconciliation  %" PRIu64 " usage reports charged, %" PRIu64 " octets, expected charge %" PRId64
              " (price %" PRId64 " per %" PRIu64 " octets, rounded up per report)",
              r.charged_reports, r.charged_octets, r.expected_charge, o.price_per_block, o.block);
  if (r.uncertain_reports) std::printf("; %" PRIu64 " reports of unknown outcome", r.uncertain_reports);
  std::printf("\n");
}

void print_machine_line(const Options& o, const Results& r, double rate, double cpu_s) {
  const char* mode = o.rate > 0 ? "open" : "closed";
  if (o.json) {
    std::printf(
        "{\"label\":\"%s\",\"mode\":\"%s\",\"target_rate\":%.1f,\"connections\":%d,\"sessions\":%d,\"updates\":%d,"
        "\"window_s\":%.3f,\"ccr_per_s\":%.1f,\"sent\":%" PRIu64 ",\"answered\":%" PRIu64
        ",\"p50_ms\":%.3f,\"p95_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"result_codes\":{%s},"
        "\"mscc_result_codes\":{%s},\"errors\":%" PRIu64 ",\"timeouts\":%" PRIu64 ",\"missed_ticks\":%" PRIu64
        ",\"sent_total\":%" PRIu64 ",\"charged_reports\":%" PRIu64 ",\"usage_octets\":%" PRIu64
        ",\"expected_charge\":%" PRId64 ",\"uncertain_reports\":%" PRIu64 ",\"elapsed_s\":%.3f,\"cpu_s\":%.3f}\n",
        json_escape(o.label).c_str(), mode, o.rate, o.connections, o.sessions, o.updates, r.window_s, rate,
        r.sent_measured, r.answered_measured, ms(r.latency.percentile(0.50)), ms(r.latency.percentile(0.95)),
        ms(r.latency.percentile(0.99)), ms(r.latency.max()), codes_text(r.result_codes, ',', true).c_str(),
        codes_text(r.mscc_result_codes, ',', true).c_str(), r.errors(), r.timeouts, r.missed_ticks, r.sent_total,
        r.charged_reports, r.charged_octets, r.expected_charge, r.uncertain_reports, r.elapsed_s, cpu_s);
    return;
  }
  std::printf(
      "RESULT label=%s mode=%s target_rate=%.1f connections=%d sessions=%d window_s=%.3f ccr_per_s=%.1f sent=%" PRIu64
      " answered=%" PRIu64 " p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%" PRIu64 " timeouts=%" PRIu64
      " missed_ticks=%" PRIu64 " codes=%s mscc_codes=%s sent_total=%" PRIu64 " charged_reports=%" PRIu64
      " usage_octets=%" PRIu64 " expected_charge=%" PRId64 " uncertain_reports=%" PRIu64 " elapsed_s=%.3f cpu_s=%.3f\n",
      o.label.empty() ? "-" : o.label.c_str(), mode, o.rate, o.connections, o.sessions, r.window_s, rate,
      r.sent_measured, r.answered_measured, ms(r.latency.percentile(0.50)), ms(r.latency.percentile(0.95)),
      ms(r.latency.percentile(0.99)), ms(r.latency.max()), r.errors(), r.timeouts, r.missed_ticks,
      codes_text(r.result_codes, ',', false).c_str(), codes_text(r.mscc_result_codes, ',', false).c_str(), r.sent_total,
      r.charged_reports, r.charged_octets, r.expected_charge, r.uncertain_reports, r.elapsed_s, cpu_s);
}

// --- RADIUS ------------------------------------------------------------------

namespace rb = ocs::bench::radius;

void print_radius_summary(const Options& o, const rb::Results& r, double cpu_s) {
  std::printf("ocs-bench%s%s: radius closed loop, %d UDP socket(s), %d sessions, %d interim(s)/session, %s:%d/%d\n",
              o.label.empty() ? "" : " ", o.label.c_str(), o.connections, o.sessions, o.updates, o.host.c_str(),
              o.auth_port, o.acct_port);
  std::printf("  window          %.2f s measured (%.2f s in all, warm-up %.1f s); generator CPU %.2f s (%.2f cores)\n",
              r.window_s, r.elapsed_s, o.warmup_s, cpu_s, r.elapsed_s > 0 ? cpu_s / r.elapsed_s : 0);
  std::printf("  throughput      %.1f sessions/s, %.0f packets/s answered (%" PRIu64 " answered of %" PRIu64
              " sent in the window)\n",
              r.sessions_per_s(), r.packets_per_s(), r.answered(), r.sent());
  std::printf("  latency (ms)    p50 %.3f  p95 %.3f  p99 %.3f  max %.3f\n", ms(r.latency.percentile(0.50)),
              ms(r.latency.percentile(0.95)), ms(r.latency.percentile(0.99)), ms(r.latency.max()));
  for (std::size_t i = 0; i < rb::kPacketKinds; ++i) {
    const Histogram& h = r.by_kind[i];
    std::printf("    %-8s      p50 %.3f  p95 %.3f  p99 %.3f  max %.3f  (%" PRIu64 ")\n",
                rb::to_string(static_cast<rb::PacketKind>(i)), ms(h.percentile(0.5)), ms(h.percentile(0.95)),
                ms(h.percentile(0.99)), ms(h.max()), h.count());
  }
  std::printf("  answers         %" PRIu64 " Accept, %" PRIu64 " Reject; %" PRIu64 " accounting packets echoed a Class\n",
              r.accepts, r.rejects, r.classes_echoed);
  std::printf("  errors          %" PRIu64 " (timeouts %" PRIu64 ", bad or late answers %" PRIu64 ", send errors %" PRIu64
              "); %" PRIu64 " retransmissions\n",
              r.errors(), r.timeouts, r.bad_answers, r.send_errors, r.retransmissions);
  std::printf("  sessions        %" PRIu64 " completed (%" PRIu64 " past 4 GiB), %" PRIu64 " rejected; %" PRIu64
              " packets sent in all\n",
              r.sessions_completed, r.big_sessions_completed, r.sessions_rejected, r.packets_sent_total);
  std::printf("  reconciliation  %" PRIu64 " sessions stopped, %" PRIu64 " octets in their Stop totals",
              r.accounted_sessions, r.accounted_octets);
  if (r.uncertain_stops) std::printf("; %" PRIu64 " Stops of unknown outcome", r.uncertain_stops);
  std::printf("\n");
}

void print_radius_machine_line(const Options& o, const rb::Results& r, double cpu_s) {
  std::vector<std::pair<std::string, std::string>> f;
  char buf[64];
  const auto num = [&](const char* key, double v) {
    std::snprintf(buf, sizeof buf, "%.3f", v);
    f.emplace_back(key, buf);
  };
  const auto count = [&](const char* key, std::uint64_t v) { f.emplace_back(key, std::to_string(v)); };
  f.emplace_back("label", o.label.empty() ? "-" : o.label);
  f.emplace_back("protocol", "radius");
  count("sockets", static_cast<std::uint64_t>(o.connections));
  count("sessions", static_cast<std::uint64_t>(o.sessions));
  num("window_s", r.window_s);
  num("sessions_per_s", r.sessions_per_s());
  num("packets_per_s", r.packets_per_s());
  count("sent", r.sent());
  count("answered", r.answered());
  num("p50_ms", ms(r.latency.percentile(0.50)));
  num("p95_ms", ms(r.latency.percentile(0.95)));
  num("p99_ms", ms(r.latency.percentile(0.99)));
  num("max_ms", ms(r.latency.max()));
  for (std::size_t i = 0; i < rb::kPacketKinds; ++i) {
    std::string k = rb::to_string(static_cast<rb::PacketKind>(i));
    for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const Histogram& h = r.by_kind[i];
    num((k + "_p50_ms").c_str(), ms(h.percentile(0.50)));
    num((k + "_p99_ms").c_str(), ms(h.percentile(0.99)));
  }
  count("accepts", r.accepts);
  count("rejects", r.rejects);
  count("errors", r.errors());
  count("timeouts", r.timeouts);
  count("bad_answers", r.bad_answers);
  count("retransmissions", r.retransmissions);
  count("sessions_completed", r.sessions_completed);
  count("big_sessions_completed", r.big_sessions_completed);
  count("classes_echoed", r.classes_echoed);
  count("accounted_sessions", r.accounted_sessions);
  count("accounted_octets", r.accounted_octets);
  count("uncertain_stops", r.uncertain_stops);
  num("elapsed_s", r.elapsed_s);
  num("cpu_s", cpu_s);

  std::string line = o.json ? "{" : "RESULT";
  for (std::size_t i = 0; i < f.size(); ++i) {
    const auto& [k, v] = f[i];
    if (o.json) {
      const bool text = k == "label" || k == "protocol";
      line += (i ? ",\"" : "\"") + k + "\":" + (text ? "\"" + json_escape(v) + "\"" : v);
    } else {
      line += " " + k + "=" + v;
    }
  }
  line += o.json ? "}" : "";
  std::printf("%s\n", line.c_str());
}

int run_radius(const Options& opts) {
  rb::LoadRun load(opts);
  const rb::Results r = load.run();
  const double cpu_s = cpu_seconds();
  print_radius_summary(opts, r, cpu_s);
  print_radius_machine_line(opts, r, cpu_s);
  std::fflush(stdout);
  return r.answered() > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  try {
    auto parsed = ocs::bench::parse_options(std::vector<std::string>(argv + 1, argv + argc));
    if (!parsed) return 0;
    opts = std::move(*parsed);
  } catch (const ocs::bench::UsageError& e) {
    std::fprintf(stderr, "ocs-bench: %s\n", e.what());
    return 2;
  }

  try {
    if (opts.protocol == ocs::bench::Protocol::Radius) return run_radius(opts);
    ocs::bench::LoadRun load(opts);
    const Results r = load.run();
    const double rate = r.window_s > 0 ? static_cast<double>(r.answered_measured) / r.window_s : 0;
    const double cpu_s = cpu_seconds();
    print_summary(opts, r, rate, cpu_s);
    print_machine_line(opts, r, rate, cpu_s);
    std::fflush(stdout);
    // Success means the load ran; whether the figures are good is the
    // reader's (or scripts/bench's) call. No answer at all is a failure.
    return r.answered_total > 0 ? 0 : 1;
  } catch (const ocs::bench::UsageError& e) {
    std::fprintf(stderr, "ocs-bench: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ocs-bench: %s\n", e.what());
    return 1;
  }
}
