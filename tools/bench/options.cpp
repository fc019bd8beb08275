#include "options.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>

namespace ocs::bench {

namespace {

template <typename T>
T parse_int(const std::string& name, const std::string& text, T min, T max) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw UsageError("--" + name + ": not an integer: '" + text + "'");
  if (v < min || v > max)
    throw UsageError("--" + name + ": " + text + " is out of range [" + std::to_string(min) + ", " +
                     std::to_string(max) + "]");
  return v;
}

double parse_double(const std::string& name, const std::string& text, double min, double max) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v))
    throw UsageError("--" + name + ": not a number: '" + text + "'");
  if (v < min || v > max) throw UsageError("--" + name + ": " + text + " is out of range");
  return v;
}

}  // namespace

const char* usage_text() {
  return R"(usage: ocs-bench [options]

Load generator against a server on the loopback interface.
  gy:     simulated PGW sessions doing CCR-I, --updates CCR-U with usage,
          CCR-T, over Diameter connections;
  radius: simulated NAS sessions doing Access-Request (PAP), Accounting
          Start, --updates Interim-Update with running totals, Stop, over
          UDP sockets (closed loop only).

  --protocol P           gy or radius                        [gy]
Target
  --host H               server address, loopback only       [127.0.0.1]
  --port P               server port                         [3868]
  --connections K        Diameter connections, Origin-Host
                         <prefix>1.<realm> .. <prefix>K.<realm> [2]
  --origin-prefix P      Origin-Host prefix                  [bench]
  --origin-realm R       Origin-Realm                        [localdomain]
  --destination-realm R  Destination-Realm                   [localdomain]
RADIUS (--protocol radius; --connections is the number of UDP sockets)
  --auth-port P          Access-Request port                 [1812]
  --acct-port P          Accounting-Request port             [1813]
  --secret S             shared secret                       [testing123]
  --user-prefix P        user i is <P><i>                    [benchuser]
  --password-prefix P    whose password is <P><i>            [pw]
  --nas-ip A             NAS-IP-Address                      [127.0.0.1]
  --retransmit-ms T      resend an unanswered packet after T [1000]
  --retries N            resends before it is a timeout      [2]
  --gigaword-every N     every N-th session passes 4 GiB; 0 never [10]
Load
  --sessions N           concurrent sessions                 [64]
  --updates U            CCR-U per session                   [3]
  --rate R               open loop at R CCR/s; 0 = closed loop [0]
  --duration S           measured seconds after the warm-up  [10]
  --ccrs C               stop after C CCRs in all (warm-up included)
  --warmup S             seconds not measured at the start   [1]
  --timeout-ms T         unanswered CCR after T ms = timeout [5000]
Subscribers and charging
  --subscribers S        subscriber i has MSISDN base + i    [100000]
  --msisdn-base B                                            [491600000000]
  --random               pick subscribers at random (default round-robin)
  --seed N               random seed                         [1]
  --rating-group RG                                          [100]
  --usage-octets O       CC-Total-Octets per CCR-U and CCR-T [1000000]
  --price-per-mib P      price per block, minor units        [2]
  --price-per-block P    (same)
  --block B              block size in octets                [1048576]
Output
  --label L              name of the run in the report
  --json                 last line as JSON instead of key=value
  -h, --help
)";
}

std::optional<Options> parse_options(const std::vector<std::string>& args) {
  Options o;
  using Setter = std::function<void(const std::string&, const std::string&)>;
  const std::map<std::string, Setter> with_value = {
      {"host", [&](auto&, auto& v) { o.host = v; }},
      {"port", [&](auto& n, auto& v) { o.port = parse_int<int>(n, v, 1, 65535); }},
      {"connections", [&](auto& n, auto& v) { o.connections = parse_int<int>(n, v, 1, 256); }},
      {"origin-prefix", [&](auto&, auto& v) { o.origin_prefix = v; }},
      {"origin-realm", [&](auto&, auto& v) { o.origin_realm = v; }},
      {"destination-realm", [&](auto&, auto& v) { o.destination_realm = v; }},
      {"sessions", [&](auto& n, auto& v) { o.sessions = parse_int<int>(n, v, 1, 1000000); }},
      {"updates", [&](auto& n, auto& v) { o.updates = parse_int<int>(n, v, 0, 100000); }},
      {"rate", [&](auto& n, auto& v) { o.rate = parse_double(n, v, 0, 1e7); }},
      {"duration",
       [&](auto& n, auto& v) {
         o.duration_s = parse_double(n, v, 0.001, Options::kMaxSeconds);
         o.duration_given = true;
       }},
      {"ccrs", [&](auto& n, auto& v) { o.ccrs = parse_int<std::uint64_t>(n, v, 1, UINT64_MAX); }},
      {"warmup", [&](auto& n, auto& v) { o.warmup_s = parse_double(n, v, 0, Options::kMaxSeconds); }},
      {"timeout-ms", [&](auto& n, auto& v) { o.timeout_ms = parse_int<int>(n, v, 1, 600000); }},
      {"subscribers", [&](auto& n, auto& v) { o.subscribers = parse_int<std::uint64_t>(n, v, 1, 1000000000000ULL); }},
      {"msisdn-base", [&](auto& n, auto& v) { o.msisdn_base = parse_int<std::uint64_t>(n, v, 0, 999999999999999ULL); }},
      {"seed", [&](auto& n, auto& v) { o.seed = parse_int<std::uint64_t>(n, v, 0, UINT64_MAX); }},
      {"rating-group", [&](auto& n, auto& v) { o.rating_group = parse_int<std::uint32_t>(n, v, 0, UINT32_MAX); }},
      {"usage-octets", [&](auto& n, auto& v) { o.usage_octets = parse_int<std::uint64_t>(n, v, 0, UINT64_MAX / 4); }},
      {"price-per-mib", [&](auto& n, auto& v) { o.price_per_block = parse_int<std::int64_t>(n, v, 0, 1000000000); }},
      {"price-per-block", [&](auto& n, auto& v) { o.price_per_block = parse_int<std::int64_t>(n, v, 0, 1000000000); }},
      {"block", [&](auto& n, auto& v) { o.block = parse_int<std::uint64_t>(n, v, 1, UINT64_MAX / 4); }},
      {"label", [&](auto&, auto& v) { o.label = v; }},
      {"protocol",
       [&](auto& n, auto& v) {
         if (v == "gy")
           o.protocol = Protocol::Gy;
         else if (v == "radius")
           o.protocol = Protocol::Radius;
         else
           throw UsageError("--" + n + ": '" + v + "' is neither gy nor radius");
       }},
      {"auth-port", [&](auto& n, auto& v) { o.auth_port = parse_int<int>(n, v, 1, 65535); }},
      {"acct-port", [&](auto& n, auto& v) { o.acct_port = parse_int<int>(n, v, 1, 65535); }},
      {"secret", [&](auto&, auto& v) { o.secret = v; }},
      {"user-prefix", [&](auto&, auto& v) { o.user_prefix = v; }},
      {"password-prefix", [&](auto&, auto& v) { o.password_prefix = v; }},
      {"nas-ip", [&](auto&, auto& v) { o.nas_ip = v; }},
      {"retransmit-ms", [&](auto& n, auto& v) { o.retransmit_ms = parse_int<int>(n, v, 1, 600000); }},
      {"retries", [&](auto& n, auto& v) { o.retries = parse_int<int>(n, v, 0, 100); }},
      {"gigaword-every",
       [&](auto& n, auto& v) { o.gigaword_every = parse_int<std::uint64_t>(n, v, 0, UINT64_MAX); }},
  };

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage_text(), stdout);
      return std::nullopt;
    }
    if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + arg + "' (try --help)");
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (name == "json" || name == "random") {
      if (value) throw UsageError("--" + name + " takes no value");
      (name == "json" ? o.json : o.random_subscribers) = true;
      continue;
    }
    const auto it = with_value.find(name);
    if (it == with_value.end()) throw UsageError("unknown option --" + name + " (try --help)");
    if (!value) {
      if (i + 1 >= args.size()) throw UsageError("--" + name + " needs a value");
      value = args[++i];
    }
    it->second(name, *value);
  }

  if (o.protocol == Protocol::Radius) {
    if (o.rate > 0) throw UsageError("--rate: the radius load is a closed loop only");
    if (o.ccrs > 0) throw UsageError("--ccrs: not supported with --protocol radius (use --duration)");
    if (o.sessions > 256 * o.connections)
      throw UsageError("--sessions: at most 256 per UDP socket (--connections) with --protocol radius");
    if (o.secret.empty()) throw UsageError("--secret must not be empty");
  }
  if (o.ccrs > 0 && !o.duration_given) o.duration_s = Options::kMaxSeconds;
  if (o.msisdn_base + o.subscribers - 1 > 999999999999999ULL)
    throw UsageError("--msisdn-base + --subscribers exceeds 15 digits");
  return o;
}

}  // namespace ocs::bench
