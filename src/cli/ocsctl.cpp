// ocsctl: the operator's command line. Subscribers, top-ups, sessions, plans
// and the schema, over the AdminStore interface. Errors end as one line on
// stderr, "ocsctl: <message>", with the exit codes listed in usage().
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "args.hpp"
#include "json.hpp"
#include "ocs/config/config.hpp"
#include "ocs/core/money.hpp"
#include "ocs/store/pg_admin.hpp"
#include "ocs/store/pg_pool.hpp"
#include "ocs/store/store.hpp"
#include "table.hpp"

#if !defined(OCS_SQL_DIR) || !defined(OCS_SQL_DIR_FROM_BINDIR)
#error "OCS_SQL_DIR and OCS_SQL_DIR_FROM_BINDIR must be set (by src/cli/CMakeLists.txt)"
#endif

namespace ocs::cli {
namespace {

using store::StoreError;

/// Where `db migrate` finds the migrations by default: next to an installed
/// ocsctl (<prefix>/bin/ocsctl -> <prefix>/share/ocs/sql/migrations, from
/// `cmake --install`), else in the source tree this ocsctl was built from.
std::string default_migrations_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = (exe.parent_path() / OCS_SQL_DIR_FROM_BINDIR / "migrations").lexically_normal();
    if (std::filesystem::is_directory(installed, ec)) return installed.string();
  }
  return std::string(OCS_SQL_DIR) + "/migrations";
}

// ---------------------------------------------------------------------------
// Usage.
// ---------------------------------------------------------------------------

constexpr const char* kUsageHead = "Usage: ocsctl [--db DSN] [--config FILE] [--json] COMMAND [ARGUMENTS]\n";

constexpr const char* kUsageTail = R"(
Options, accepted anywhere on the line:
  --db DSN        PostgreSQL connection string (keyword/value or postgresql:// URI)
  --config FILE   read [database].dsn from this TOML file
  --json          machine-readable output (one JSON document on stdout)
  -h, --help      this text; 'ocsctl help COMMAND' for one command

The database is the first of: --db, $OCS_DB, [database].dsn of --config FILE,
of $OCS_CONFIG, or of ./config/ocs.toml. Keep passwords in ~/.pgpass.

Amounts are decimals in currency units ("10.00") with at most as many
decimals as the currency has (2 for EUR, 0 for JPY).

Exit status:
  0  success (also a top-up whose reference was already credited)
  1  other error
  2  usage or configuration error
  3  not found (subscriber, plan)
  4  duplicate or conflict (subscriber id, identity, top-up reference)
  5  invalid value (amount, MSISDN, IMSI, ...)
  6  database unavailable, or its schema is not the version this build needs
)";

// ---------------------------------------------------------------------------
// The command table.
// ---------------------------------------------------------------------------

struct Context;

struct Command {
  std::vector<std::string> words;  // {"subscriber", "add"}
  std::string synopsis;            // after the words
  std::string summary;
  std::string details;
  std::vector<std::string> options;  // accepted besides the global ones
  std::size_t min_args = 0;
  std::size_t max_args = 0;
  std::vector<std::string> arg_names;  // for "missing ..." messages
  bool checks_schema = true;
  std::function<void(Context&, const std::vector<std::string>&)> run;
  /// Checks that need no database, run before connecting (may be empty).
  std::function<void(const Args&)> precheck;

  std::string name() const {
    std::string n;
    for (const auto& w : words) n += (n.empty() ? "" : " ") + w;
    return n;
  }
};

std::vector<Command>& commands();

/// `first` followed by the words of `text`, wrapped at `width` columns;
/// continuation lines are indented to line up after `first`.
std::string wrap(const std::string& first, const std::string& text, std::size_t width) {
  const std::string indent(first.size(), ' ');
  std::istringstream words(text);
  std::string out, line = first, word;
  bool empty = true;
  while (words >> word) {
    if (!empty && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = indent;
      empty = true;
    }
    if (!empty) line += ' ';
    line += word;
    empty = false;
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return out + line;
}

std::string usage() {
  std::ostringstream out;
  out << kUsageHead << "\nCommands:\n";
  for (const auto& c : commands()) {
    out << wrap("  " + c.name() + " ", c.synopsis, 79) << "\n";
    out << "      " << c.summary << "\n";
  }
  out << kUsageTail;
  return out.str();
}

std::string usage_of(const Command& c) {
  std::ostringstream out;
  out << wrap("Usage: ocsctl " + c.name() + " ", c.synopsis + " [--json]", 79) << "\n\n" << c.summary << "\n";
  if (!c.details.empty()) out << "\n" << c.details;
  out << "\nGlobal options: --db DSN, --config FILE, --json. Exit codes: see 'ocsctl --help'.\n";
  return out.str();
}

// ---------------------------------------------------------------------------
// Formatting.
// ---------------------------------------------------------------------------

std::string money(Money amount, int exponent, const std::string& currency) {
  return format_amount(amount, exponent) + " " + currency;
}

std::string iso_time(TimePoint t) {
  const std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}




const char* family_name(UnitFamily f) {
  switch (f) {
    case UnitFamily::Octets: return "octets";
    case UnitFamily::Seconds: return "seconds";
    case UnitFamily::Events: return "events";
  }
  return "?";
}



/// 10485760 octets -> "10 MiB", 300 seconds -> "300 s".
std::string quantity(std::uint64_t n, UnitFamily f) {
  switch (f) {
    case UnitFamily::Octets: {
      constexpr std::uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
      if (n != 0 && n % kGiB == 0) return std::to_string(n / kGiB) + " GiB";
      if (n != 0 && n % kMiB == 0) return std::to_string(n / kMiB) + " MiB";
      if (n != 0 && n % kKiB == 0) return std::to_string(n / kKiB) + " KiB";
      return std::to_string(n) + " B";
    }
    case UnitFamily::Seconds: return std::to_string(n) + " s";
    case UnitFamily::Events: return std::to_string(n) + " ev";
  }
  return std::to_string(n);
}

/// Bit 0 = Monday: 31 -> "Mon-Fri", 96 -> "Sat,Sun", 127 -> "every day".
std::string days(std::uint8_t mask) {
  static constexpr const char* kNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  if ((mask & 0x7f) == 0x7f) return "every day";
  std::string out;
  for (int d = 0; d < 7;) {
    if (!(mask & (1 << d))) {
      ++d;
      continue;
    }
    int end = d;
    while (end + 1 < 7 && (mask & (1 << (end + 1)))) ++end;
    if (!out.empty()) out += ',';
    out += kNames[d];
    if (end - d >= 2) {
      out += std::string("-") + kNames[end];
    } else if (end > d) {
      out += std::string(",") + kNames[end];
    }
    d = end + 1;
  }
  return out;
}

std::string clock_time(int minute) {
  const auto two = [](int n) { return std::string(n < 10 ? "0" : "") + std::to_string(n); };
  return two(minute / 60) + ":" + two(minute % 60);
}

std::string utc_offset(int minutes) {
  return std::string("UTC") + (minutes < 0 ? "-" : "+") + clock_time(minutes < 0 ? -minutes : minutes);
}

// ---------------------------------------------------------------------------
// Running commands.
// ---------------------------------------------------------------------------

struct Context {
  const Args& args;
  store::ConnectionPool& pool;
  store::AdminStore& store;
  std::ostream& out;
};

Money parse_money(const std::string& text, int exponent, const std::string& what, bool allow_zero) {
  const auto value = parse_amount(text, exponent);
  if (!value) {
    throw CliError(kExitInvalid, "invalid " + what + " '" + text + "': expected a decimal number with at most " +
                                     std::to_string(exponent) + " decimal" + (exponent == 1 ? "" : "s") +
                                     " (e.g. " + format_amount(1000, exponent) + ")");
  }
  if (*value < 0 || (*value == 0 && !allow_zero))
    throw CliError(kExitInvalid,
                   "invalid " + what + " '" + text + "': must be " + (allow_zero ? "zero or more" : "more than zero"));
  return *value;
}

void write_subscriber_json(JsonWriter& j, const store::SubscriberInfo& s) {
  const int e = s.currency_exponent;
  const Money available = s.balance + s.credit_limit - s.reserved;
  j.begin_object()
      .field("id", s.id)
      .field("subscriber", s.external_id)
      .field("status", ocs::to_string(s.status))
      .field("status_reason", s.status_reason)
      .field("account_type", s.account_type)
      .field("group", s.group)
      .field("plan", s.plan)
      .field("policy", s.policy)
      .field("currency", s.currency)
      .field("currency_exponent", s.currency_exponent)
      .field("balance_minor", s.balance)
      .field("balance", format_amount(s.balance, e))
      .field("credit_limit_minor", s.credit_limit)
      .field("credit_limit", format_amount(s.credit_limit, e))
      .field("reserved_minor", s.reserved)
      .field("reserved", format_amount(s.reserved, e))
      .field("available_minor", available)
      .field("available", format_amount(available, e));
  j.key("identities").begin_array();
  for (const auto& id : s.identities)
    j.begin_object().field("kind", store::to_string(id.kind)).field("value", id.value).end_object();
  j.end_array();
  j.key("buckets").begin_array();
  for (const auto& b : s.buckets) {
    j.begin_object()
        .field("id", b.id)
        .field("rating_group", b.rating_group)
        .field("unit_family", family_name(b.family))
        .field("initial", b.initial)
        .field("remaining", b.remaining);
    j.key("valid_from");
    b.valid_from ? j.value(iso_time(*b.valid_from)) : j.null();
    j.key("valid_until");
    b.valid_until ? j.value(iso_time(*b.valid_until)) : j.null();
    j.end_object();
  }
  j.end_array();
  j.field("open_sessions", s.open_sessions);
  j.end_object();
}

void print_subscriber(std::ostream& out, const store::SubscriberInfo& s) {
  const int e = s.currency_exponent;
  Table t({"", ""});
  t.add({"subscriber", s.external_id});
  t.add({"status", std::string(ocs::to_string(s.status)) + (s.status_reason ? " (" + *s.status_reason + ")" : "")});
  t.add({"plan", s.plan});
  t.add({"policy", s.policy});
  t.add({"account", s.account_type + (s.group ? ", group " + *s.group : "")});
  t.add({"balance", money(s.balance, e, s.currency)});
  t.add({"credit limit", money(s.credit_limit, e, s.currency)});
  t.add({"reserved", money(s.reserved, e, s.currency)});
  t.add({"available", money(s.balance + s.credit_limit - s.reserved, e, s.currency)});
  if (s.identities.empty()) t.add({"identities", "none"});
  for (std::size_t i = 0; i < s.identities.size(); ++i)
    t.add({i == 0 ? "identities" : "", std::string(store::to_string(s.identities[i].kind)) + " " + s.identities[i].value});
  t.add({"open sessions", std::to_string(s.open_sessions)});
  if (s.buckets.empty()) t.add({"buckets", "none"});
  std::ostringstream body;
  t.print(body);
  // Drop the empty header line of the two-column layout.
  std::string text = body.str();
  text.erase(0, text.find('\n') + 1);
  out << text;
  if (!s.buckets.empty()) {
    out << "buckets:\n";
    Table b({"ID", "RG", "UNIT", "REMAINING", "INITIAL", "VALID FROM", "VALID UNTIL"});
    b.align_right(0).align_right(3).align_right(4);
    for (const auto& k : s.buckets) {
      b.add({std::to_string(k.id), k.rating_group ? std::to_string(*k.rating_group) : "any", family_name(k.family),
             quantity(k.remaining, k.family), quantity(k.initial, k.family),
             k.valid_from ? iso_time(*k.valid_from) : "-", k.valid_until ? iso_time(*k.valid_until) : "-"});
    }
    b.print(out, "  ");
  }
}

void show_subscriber(Context& ctx, const store::SubscriberInfo& s) {
  if (ctx.args.json) {
    JsonWriter j;
    write_subscriber_json(j, s);
    ctx.out << j.str() << "\n";
  } else {
    print_subscriber(ctx.out, s);
  }
}

store::SubscriberInfo require_subscriber(Context& ctx, const std::string& id) {
  auto s = ctx.store.find_subscriber(id);
  if (!s) throw CliError(kExitNotFound, "unknown subscriber '" + id + "'");
  return *s;
}

void check_subscriber_add(const Args& args) {
  if (!args.get("plan")) throw CliError(kExitUsage, "missing --plan PLAN for 'subscriber add'");
  if (args.get("username") && !args.get("password")) throw CliError(kExitUsage, "--username needs --password");
  if (args.get("password") && !args.get("username")) throw CliError(kExitUsage, "--password needs --username");
}

void cmd_subscriber_add(Context& ctx, const std::vector<std::string>& a) {
  const auto& args = ctx.args;
  store::NewSubscriber s;
  s.external_id = a[0];
  s.plan = args.get("plan").value_or("");
  s.msisdn = args.get("msisdn");
  s.imsi = args.get("imsi");
  s.nai = args.get("nai");
  s.username = args.get("username");
  s.password = args.get("password");

  const auto balance = args.get("balance");
  const auto credit_limit = args.get("credit-limit");
  if (balance || credit_limit) {
    // Amounts are in the plan's currency: look up its exponent first.
    const auto plans = ctx.store.plans();
    const auto it = std::find_if(plans.begin(), plans.end(), [&](const auto& p) { return p.plan.name == s.plan; });
    if (it == plans.end()) throw CliError(kExitNotFound, "unknown plan '" + s.plan + "'");
    if (balance) s.balance = parse_money(*balance, it->currency_exponent, "balance", true);
    if (credit_limit) s.credit_limit = parse_money(*credit_limit, it->currency_exponent, "credit limit", true);
  }
  const auto info = ctx.store.add_subscriber(s);
  if (!ctx.args.json) ctx.out << "added subscriber " << info.external_id << "\n";
  show_subscriber(ctx, info);
}

void cmd_subscriber_show(Context& ctx, const std::vector<std::string>& a) {
  show_subscriber(ctx, require_subscriber(ctx, a[0]));
}

void cmd_subscriber_list(Context& ctx, const std::vector<std::string>&) {
  const auto all = ctx.store.list_subscribers();
  if (ctx.args.json) {
    JsonWriter j;
    j.begin_array();
    for (const auto& s : all) write_subscriber_json(j, s);
    j.end_array();
    ctx.out << j.str() << "\n";
    return;
  }
  if (all.empty()) {
    ctx.out << "no subscribers\n";
    return;
  }
  Table t({"SUBSCRIBER", "STATUS", "PLAN", "BALANCE", "RESERVED", "CUR", "SESSIONS", "BUCKETS", "MSISDN", "IMSI"});
  t.align_right(3).align_right(4).align_right(6).align_right(7);
  for (const auto& s : all) {
    std::string msisdn = "-", imsi = "-";
    for (const auto& id : s.identities) {
      if (id.kind == store::IdentityKind::Msisdn && msisdn == "-") msisdn = id.value;
      if (id.kind == store::IdentityKind::Imsi && imsi == "-") imsi = id.value;
    }
    t.add({s.external_id, ocs::to_string(s.status), s.plan, format_amount(s.balance, s.currency_exponent),
           format_amount(s.reserved, s.currency_exponent), s.currency, std::to_string(s.open_sessions),
           std::to_string(s.buckets.size()), msisdn, imsi});
  }
  t.print(ctx.out);
}

void cmd_subscriber_block(Context& ctx, const std::vector<std::string>& a) {
  const auto info = ctx.store.set_status(a[0], SubscriberStatus::Blocked, ctx.args.get("reason"));
  if (!ctx.args.json)
    ctx.out << "blocked subscriber " << info.external_id
            << (info.status_reason ? " (reason: " + *info.status_reason + ")" : "") << "\n";
  else
    show_subscriber(ctx, info);
}

void cmd_subscriber_unblock(Context& ctx, const std::vector<std::string>& a) {
  const auto info = ctx.store.set_status(a[0], SubscriberStatus::Active, std::nullopt);
  if (!ctx.args.json)
    ctx.out << "unblocked subscriber " << info.external_id << ", status active\n";
  else
    show_subscriber(ctx, info);
}

void check_topup(const Args& args) {
  if (auto ref = args.get("reference"); ref && ref->empty())
    throw CliError(kExitInvalid, "invalid top-up reference: must not be empty");
}

void cmd_topup(Context& ctx, const std::vector<std::string>& a) {
  const auto& id = a[0];
  const auto reference = ctx.args.get("reference");
  // The amount is in the account's currency.
  const auto sub = require_subscriber(ctx, id);
  const Money amount = parse_money(a[1], sub.currency_exponent, "amount", false);
  const auto r = ctx.store.topup(id, amount, reference);
  if (ctx.args.json) {
    JsonWriter j;
    j.begin_object()
        .field("subscriber", id)
        .field("applied", r.applied)
        .field("reference", reference)
        .field("amount_minor", r.amount)
        .field("amount", format_amount(r.amount, r.currency_exponent))
        .field("currency", r.currency)
        .field("balance_minor", r.balance_after)
        .field("balance", format_amount(r.balance_after, r.currency_exponent))
        .end_object();
    ctx.out << j.str() << "\n";
  } else if (r.applied) {
    ctx.out << "credited " << money(r.amount, r.currency_exponent, r.currency) << " to " << id << ", balance "
            << money(r.balance_after, r.currency_exponent, r.currency) << "\n";
  } else {
    ctx.out << "reference " << *reference << " already credited to " << id << ", nothing changed; balance "
            << money(r.balance_after, r.currency_exponent, r.currency) << "\n";
  }
}

void cmd_sessions(Context& ctx, const std::vector<std::string>& a) {
  const std::optional<std::string> id = a.empty() ? std::nullopt : std::optional<std::string>(a[0]);
  const auto sessions = ctx.store.sessions(id);

  // SessionInfo carries no currency: take it from each subscriber.
  std::map<std::string, std::pair<std::string, int>> currency;
  for (const auto& s : sessions) {
    if (currency.count(s.subscriber)) continue;
    const auto sub = ctx.store.find_subscriber(s.subscriber);
    currency[s.subscriber] = sub ? std::pair{sub->currency, sub->currency_exponent} : std::pair{std::string("?"), 2};
  }

  if (ctx.args.json) {
    JsonWriter j;
    j.begin_array();
    for (const auto& s : sessions) {
      const auto& [cur, e] = currency[s.subscriber];
      j.begin_object()
          .field("session_id", s.session_id)
          .field("subscriber", s.subscriber)
          .field("protocol", s.protocol)
          .field("state", s.state)
          .field("credit_state", s.credit_state)
          .field("origin_host", s.origin_host)
          .field("nas_address", s.nas_address)
          .field("created_at", iso_time(s.created_at))
          .field("last_seen", iso_time(s.last_seen));
      j.key("expires_at");
      s.expires_at ? j.value(iso_time(*s.expires_at)) : j.null();
      j.field("reserved_minor", s.reserved).field("reserved", format_amount(s.reserved, e)).field("currency", cur);
      j.key("rating_groups").begin_array();
      for (auto rg : s.rating_groups) j.value(rg);
      j.end_array().end_object();
    }
    j.end_array();
    ctx.out << j.str() << "\n";
    return;
  }
  if (sessions.empty()) {
    ctx.out << "no open sessions" << (id ? " for " + *id : "") << "\n";
    return;
  }
  Table t({"SESSION", "SUBSCRIBER", "PROTO", "CREDIT", "RESERVED", "CUR", "RATING GROUPS", "PEER", "LAST SEEN",
           "EXPIRES"});
  t.align_right(4);
  for (const auto& s : sessions) {
    const auto& [cur, e] = currency[s.subscriber];
    std::string groups;
    for (auto rg : s.rating_groups) groups += (groups.empty() ? "" : ",") + std::to_string(rg);
    const std::string peer = !s.origin_host.empty() ? s.origin_host : (!s.nas_address.empty() ? s.nas_address : "-");
    t.add({s.session_id, s.subscriber, s.protocol, s.credit_state, format_amount(s.reserved, e), cur,
           groups.empty() ? "-" : groups, peer, iso_time(s.last_seen), s.expires_at ? iso_time(*s.expires_at) : "-"});
  }
  t.print(ctx.out);
}

void cmd_plans(Context& ctx, const std::vector<std::string>&) {
  const auto plans = ctx.store.plans();
  if (ctx.args.json) {
    JsonWriter j;
    j.begin_array();
    for (const auto& p : plans) {
      j.begin_object()
          .field("id", p.plan.id)
          .field("name", p.plan.name)
          .field("currency", p.plan.currency)
          .field("currency_exponent", p.currency_exponent)
          .field("utc_offset_minutes", p.plan.utc_offset_minutes)
          .field("policy", p.policy);
      j.key("rating_groups").begin_array();
      for (const auto& t : p.plan.tariffs) {
        j.begin_object()
            .field("rating_group", t.rating_group)
            .field("unit", ocs::to_string(t.unit))
            .field("block_units", t.block_units)
            .field("rounding", ocs::to_string(t.rounding))
            .field("default_grant", t.default_grant)
            .field("max_grant", t.max_grant);
        j.key("periods").begin_array();
        for (const auto& period : t.periods) {
          j.begin_object()
              .field("name", period.name)
              .field("days_mask", static_cast<int>(period.days_mask))
              .field("days", days(period.days_mask))
              .field("start_minute", period.start_minute)
              .field("end_minute", period.end_minute)
              .field("start", clock_time(period.start_minute))
              .field("end", clock_time(period.end_minute))
              .field("price_minor", period.price_per_block)
              .field("price", format_amount(period.price_per_block, p.currency_exponent))
              .end_object();
        }
        j.end_array().end_object();
      }
      j.end_array().end_object();
    }
    j.end_array();
    ctx.out << j.str() << "\n";
    return;
  }
  if (plans.empty()) {
    ctx.out << "no plans\n";
    return;
  }
  Table t({"PLAN", "POLICY", "LOCAL TIME", "RG", "UNIT", "BLOCK", "PRICE", "PERIOD", "DAYS", "HOURS", "GRANT", "MAX"});
  t.align_right(3).align_right(5).align_right(6).align_right(10).align_right(11);
  for (const auto& p : plans) {
    if (p.plan.tariffs.empty()) t.add({p.plan.name, p.policy, utc_offset(p.plan.utc_offset_minutes), "-"});
    for (const auto& rg : p.plan.tariffs) {
      const auto family = family_of(rg.unit);
      const std::string rg_name = rg.rating_group ? std::to_string(*rg.rating_group) : "other";
      const std::vector<std::string> head = {p.plan.name, p.policy, utc_offset(p.plan.utc_offset_minutes), rg_name,
                                             ocs::to_string(rg.unit), quantity(rg.block_units, family)};
      const std::string grant = quantity(rg.default_grant, family), max = quantity(rg.max_grant, family);
      if (rg.periods.empty()) {
        auto row = head;
        row.insert(row.end(), {"-", "(no price: rating fails)", "", "", grant, max});
        t.add(row);
      }
      for (const auto& period : rg.periods) {
        auto row = head;
        row.insert(row.end(), {money(period.price_per_block, p.currency_exponent, p.plan.currency), period.name,
                               days(period.days_mask),
                               clock_time(period.start_minute) + "-" + clock_time(period.end_minute), grant, max});
        t.add(row);
      }
    }
  }
  t.print(ctx.out);
}

void cmd_db_version(Context& ctx, const std::vector<std::string>&) {
  int version = 0;
  {
    auto lease = ctx.pool.acquire();
    version = store::schema_version(*lease);
  }
  if (ctx.args.json) {
    JsonWriter j;
    j.begin_object().field("version", version).field("expected", store::kSchemaVersion).end_object();
    ctx.out << j.str() << "\n";
  } else {
    ctx.out << "schema version " << version << " (this build needs " << store::kSchemaVersion << ")\n";
  }
}

/// --days: a whole number of days, 1 to 36500 (default 7).
int purge_days(const Args& args) {
  const auto text = args.get("days");
  if (!text) return 7;
  int days = 0;
  const auto r = std::from_chars(text->data(), text->data() + text->size(), days);
  if (r.ec != std::errc{} || r.ptr != text->data() + text->size() || days < 1 || days > 36500)
    throw CliError(kExitInvalid, "invalid --days '" + *text +
                                     "': expected a whole number of days from 1 to 36500 (answers younger than a "
                                     "day may still be needed for retransmissions)");
  return days;
}

void check_db_purge_answers(const Args& args) { (void)purge_days(args); }

void cmd_db_purge_answers(Context& ctx, const std::vector<std::string>&) {
  const int days = purge_days(ctx.args);
  const TimePoint before = std::chrono::floor<std::chrono::seconds>(Clock::now()) - std::chrono::hours(24) * days;
  const std::uint64_t purged = ctx.store.purge_answers(before, 10000);
  if (ctx.args.json) {
    JsonWriter j;
    j.begin_object().field("purged", purged).field("before", iso_time(before)).end_object();
    ctx.out << j.str() << "\n";
  } else {
    ctx.out << "purged " << purged << " stored answer" << (purged == 1 ? "" : "s") << " older than "
            << iso_time(before) << " (sessions no longer open)\n";
  }
}

void cmd_db_migrate(Context& ctx, const std::vector<std::string>&) {
  const std::string dir = ctx.args.get("migrations").value_or(default_migrations_dir());
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw CliError(kExitUsage, "migrations directory '" + dir + "' does not exist");
  int before = 0, after = 0;
  {
    auto lease = ctx.pool.acquire();
    before = store::schema_version(*lease);
    after = store::apply_migrations(*lease, dir);
  }
  if (ctx.args.json) {
    JsonWriter j;
    j.begin_object()
        .field("from", before)
        .field("version", after)
        .field("expected", store::kSchemaVersion)
        .end_object();
    ctx.out << j.str() << "\n";
  } else if (after == before) {
    ctx.out << "schema already at version " << after << ", nothing to do\n";
  } else {
    ctx.out << "migrated schema from version " << before << " to " << after << "\n";
  }
  if (after != store::kSchemaVersion)
    throw CliError(kExitUnavailable, "database schema is version " + std::to_string(after) + ", this build needs " +
                                         std::to_string(store::kSchemaVersion));
}

std::vector<Command>& commands() {
  static std::vector<Command> table = {
      {{"subscriber", "add"},
       "ID --plan PLAN [--msisdn E164] [--imsi IMSI] [--nai NAI] [--username NAME --password PW] "
       "[--balance AMOUNT] [--credit-limit AMOUNT]",
       "Create a subscriber on a plan, with its identities and opening balance.",
       "  --plan PLAN           plan by name (see 'ocsctl plans'); the account takes its currency\n"
       "  --msisdn E164         5 to 15 digits, country code first (491700000001)\n"
       "  --imsi IMSI           6 to 15 digits (262010000000001)\n"
       "  --nai NAI             network access identifier (user@realm)\n"
       "  --username NAME       RADIUS User-Name; needs --password (stored for PAP/CHAP, never shown)\n"
       "  --balance AMOUNT      opening balance, also written to the ledger as a top-up (default 0)\n"
       "  --credit-limit AMOUNT how far below zero the balance may go (default 0)\n",
       {"plan", "msisdn", "imsi", "nai", "username", "password", "balance", "credit-limit"},
       1,
       1,
       {"subscriber ID"},
       true,
       cmd_subscriber_add,
       check_subscriber_add},
      {{"subscriber", "show"},
       "ID",
       "Show a subscriber: status, balance, reservations, identities, buckets, open sessions.",
       "",
       {},
       1,
       1,
       {"subscriber ID"},
       true,
       cmd_subscriber_show, {}},
      {{"subscriber", "list"}, "", "List all subscribers.", "", {}, 0, 0, {}, true, cmd_subscriber_list, {}},
      {{"subscriber", "block"},
       "ID [--reason TEXT]",
       "Block a subscriber: new requests are denied (result code of the policy).",
       "",
       {"reason"},
       1,
       1,
       {"subscriber ID"},
       true,
       cmd_subscriber_block, {}},
      {{"subscriber", "unblock"},
       "ID",
       "Make a blocked or suspended subscriber active again.",
       "",
       {},
       1,
       1,
       {"subscriber ID"},
       true,
       cmd_subscriber_unblock, {}},
      {{"topup"},
       "ID AMOUNT [--reference REF]",
       "Credit AMOUNT to the subscriber's account.",
       "  --reference REF  payment reference; a reference is credited once only, a repeat\n"
       "                   says \"already credited\" and changes nothing (exit 0)\n",
       {"reference"},
       2,
       2,
       {"subscriber ID", "AMOUNT"},
       true,
       cmd_topup,
       check_topup},
      {{"sessions"},
       "[ID]",
       "List open charging sessions, of one subscriber or of all.",
       "",
       {},
       0,
       1,
       {},
       true,
       cmd_sessions, {}},
      {{"plans"},
       "",
       "List plans with their rating groups and tariff periods (in priority order).",
       "",
       {},
       0,
       0,
       {},
       true,
       cmd_plans, {}},
      {{"db", "migrate"},
       "[--migrations DIR]",
       "Apply the schema migrations the database lacks.",
       "  --migrations DIR  directory of NNNN_*.sql files (default " + default_migrations_dir() + ")\n",
       {"migrations"},
       0,
       0,
       {},
       false,
       cmd_db_migrate, {}},
      {{"db", "version"}, "", "Show the database's schema version.", "", {}, 0, 0, {}, true, cmd_db_version, {}},
      {{"db", "purge-answers"},
       "[--days N]",
       "Delete stored answers older than N days whose session is no longer open.",
       "  --days N  keep the answers of the last N days (default 7, at least 1). They answer\n"
       "            retransmitted requests; the ledger, usage records and sessions are never\n"
       "            purged. Run it daily (cron); it deletes 10,000 rows per transaction.\n",
       {"days"},
       0,
       0,
       {},
       true,
       cmd_db_purge_answers,
       check_db_purge_answers},
  };
  return table;
}

/// The command the words name, or a usage error that says what is wrong.
const Command& find_command(const std::vector<std::string>& words) {
  if (words.empty()) throw CliError(kExitUsage, "missing command (see 'ocsctl --help')");
  const Command* best = nullptr;
  for (const auto& c : commands()) {
    if (c.words.size() > words.size()) continue;
    if (!std::equal(c.words.begin(), c.words.end(), words.begin())) continue;
    if (!best || c.words.size() > best->words.size()) best = &c;
  }
  if (best) return *best;
  // A known group with a missing or unknown subcommand?
  std::vector<std::string> subs;
  for (const auto& c : commands())
    if (c.words.size() == 2 && c.words[0] == words[0]) subs.push_back(c.words[1]);
  if (!subs.empty()) {
    std::string list;
    for (const auto& s : subs) list += (list.empty() ? "" : ", ") + s;
    if (words.size() < 2) throw CliError(kExitUsage, "missing " + words[0] + " command (" + list + ")");
    throw CliError(kExitUsage, "unknown " + words[0] + " command '" + words[1] + "' (" + list + ")");
  }
  throw CliError(kExitUsage, "unknown command '" + words[0] + "' (see 'ocsctl --help')");
}

// ---------------------------------------------------------------------------
// Where the database is.
// ---------------------------------------------------------------------------

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string resolve_dsn(const Args& args) {
  if (auto db = args.get("db")) {
    if (db->empty()) throw CliError(kExitUsage, "--db needs a connection string");
    return *db;
  }
  if (const char* env = std::getenv("OCS_DB"); env && *env) return env;

  std::string path;
  bool explicit_file = true;
  if (auto file = args.get("config")) {
    path = *file;
  } else if (const char* env = std::getenv("OCS_CONFIG"); env && *env) {
    path = env;
  } else {
    path = "config/ocs.toml";
    explicit_file = false;
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (explicit_file) throw CliError(kExitUsage, "configuration file '" + path + "' does not exist");
    throw CliError(kExitUsage,
                   "no database given: use --db DSN, $OCS_DB, or a configuration file "
                   "(--config FILE, $OCS_CONFIG, ./config/ocs.toml)");
  }
  try {
    return config::load(path).database.dsn;
  } catch (const config::ConfigError& e) {
    throw CliError(kExitUsage, first_line(e.what()));
  }
}

/// Replaces every occurrence of a secret in a message by "***".
std::string scrub(std::string message, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.size() < 3) continue;  // too short to tell from ordinary text
    for (auto pos = message.find(s); pos != std::string::npos; pos = message.find(s, pos + 3))
      message.replace(pos, s.size(), "***");
  }
  return message;
}

int exit_code_of(StoreError::Kind k) {
  switch (k) {
    case StoreError::Kind::NotFound: return kExitNotFound;
    case StoreError::Kind::Duplicate: return kExitConflict;
    case StoreError::Kind::Invalid: return kExitInvalid;
    case StoreError::Kind::Unavailable: return kExitUnavailable;
    case StoreError::Kind::Schema: return kExitUnavailable;
    case StoreError::Kind::Unknown: return kExitOther;
    case StoreError::Kind::Internal: return kExitOther;
  }
  return kExitOther;
}

int run(const std::vector<std::string>& argv, std::vector<std::string>& secrets) {
  const Args args = parse_args(argv);
  if (auto pw = args.get("password")) secrets.push_back(*pw);

  if (args.words.empty() || (args.words[0] == "help" && args.words.size() == 1)) {
    if (args.help || !args.words.empty()) {
      std::cout << usage();
      return kExitOk;
    }
    throw CliError(kExitUsage, "missing command (see 'ocsctl --help')");
  }
  if (args.words[0] == "help") {
    const std::vector<std::string> topic(args.words.begin() + 1, args.words.end());
    const Command& c = find_command(topic);
    if (topic.size() > c.words.size())
      throw CliError(kExitUsage, "no help for '" + topic.back() + "' (see 'ocsctl --help')");
    std::cout << usage_of(c);
    return kExitOk;
  }

  const Command& cmd = find_command(args.words);
  if (args.help) {
    std::cout << usage_of(cmd);
    return kExitOk;
  }
  for (const auto& name : args.given) {
    if (is_global_option(name)) continue;
    if (std::find(cmd.options.begin(), cmd.options.end(), name) == cmd.options.end())
      throw CliError(kExitUsage, "option --" + name + " does not apply to '" + cmd.name() + "' (see 'ocsctl help " +
                                     cmd.name() + "')");
  }
  const std::vector<std::string> rest(args.words.begin() + static_cast<std::ptrdiff_t>(cmd.words.size()),
                                      args.words.end());
  if (rest.size() < cmd.min_args)
    throw CliError(kExitUsage, "missing " + cmd.arg_names[rest.size()] + " for '" + cmd.name() + "' (usage: ocsctl " +
                                   cmd.name() + " " + cmd.synopsis + ")");
  if (rest.size() > cmd.max_args)
    throw CliError(kExitUsage, "unexpected argument '" + rest[cmd.max_args] + "' for '" + cmd.name() + "'");

  if (cmd.precheck) cmd.precheck(args);

  const std::string dsn = resolve_dsn(args);
  const auto dsn_keys = store::dsn_parameters(dsn);
  if (auto pw = dsn_keys.find("password"); pw != dsn_keys.end()) secrets.push_back(pw->second);
  // Fail fast when the server is unreachable rather than hang (libpq default: forever).
  ::setenv("PGCONNECT_TIMEOUT", "5", 0);

  store::ConnectionPool pool(dsn, 1);
  store::PgAdminStore admin(pool);
  const auto where = store::describe_dsn(dsn);
  try {
    if (cmd.checks_schema) {
      auto lease = pool.acquire();
      store::check_schema_version(*lease);
    }
    Context ctx{args, pool, admin, std::cout};
    cmd.run(ctx, rest);
  } catch (const StoreError& e) {
    // The pool's own connect failure does not say where: add it.
    std::string msg = first_line(e.what());
    if (e.kind() == StoreError::Kind::Unavailable && msg.find(where) == std::string::npos) {
      static constexpr std::string_view kPrefix = "database unreachable: ";
      if (msg.rfind(kPrefix, 0) == 0) msg.erase(0, kPrefix.size());
      throw StoreError(e.kind(), "database at " + where + " unavailable: " + msg);
    }
    throw StoreError(e.kind(), msg);
  } catch (const pqxx::broken_connection& e) {
    throw StoreError(StoreError::Kind::Unavailable, "database at " + where + " unavailable: " + first_line(e.what()));
  } catch (const pqxx::sql_error& e) {
    throw StoreError(StoreError::Kind::Internal, "database error: " + first_line(e.what()));
  }
  std::cout.flush();
  return std::cout ? kExitOk : kExitOther;
}

}  // namespace
}  // namespace ocs::cli

int main(int argc, char** argv) {
  using namespace ocs::cli;
  std::vector<std::string> secrets;
  int code = kExitOther;
  std::string message;
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc), secrets);
  } catch (const CliError& e) {
    code = e.code();
    message = e.what();
  } catch (const ocs::store::StoreError& e) {
    code = exit_code_of(e.kind());
    message = e.what();
  } catch (const std::exception& e) {
    code = kExitOther;
    message = e.what();
  }
  message = scrub(first_line(message), secrets);
  std::cerr << "ocsctl: " << message << std::endl;
  return code;
}
