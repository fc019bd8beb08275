#include "ocs/store/pg_admin.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

#include <pqxx/pqxx>

#include "pg_util.hpp"

// Administration is rare and interactive, so statements are sent with
// exec_params instead of being prepared on every pooled connection: the pool
// may be shared with the charging store, which owns the Preparer.

namespace ocs::store {
namespace {

using Kind = StoreError::Kind;

// ---------------------------------------------------------------------------
// Names. Enum <-> column text goes through to_string / *_from_string
// (src/store/names.cpp, src/core/model.cpp), which spell them as the schema
// does; the value_or fallbacks below only guard against a newer schema.
// ---------------------------------------------------------------------------

/// How an identity is named in messages.
const char* identity_label(IdentityKind k) {
  switch (k) {
    case IdentityKind::Msisdn: return "MSISDN";
    case IdentityKind::Imsi: return "IMSI";
    case IdentityKind::Nai: return "NAI";
    case IdentityKind::SipUri: return "SIP URI";
    case IdentityKind::Username: return "username";
  }
  return "identity";
}

UnitFamily family_from_column(const std::string& s) {
  if (s == "seconds") return UnitFamily::Seconds;
  if (s == "events") return UnitFamily::Events;
  return UnitFamily::Octets;
}

TimePoint from_epoch(std::int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

std::optional<TimePoint> optional_time(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return from_epoch(f.as<std::int64_t>());
}

std::optional<std::string> optional_text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

std::optional<std::uint32_t> optional_rating_group(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::uint32_t>();
}

// ---------------------------------------------------------------------------
// Validation, before any SQL, so that messages say what is wrong.
// ---------------------------------------------------------------------------

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool has_space_or_control(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

bool has_control(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

void require(bool ok, const std::string& message) {
  if (!ok) throw StoreError(Kind::Invalid, message);
}

void check_external_id(const std::string& id) {
  require(!id.empty(), "subscriber id must not be empty");
  require(!has_space_or_control(id), "invalid subscriber id '" + id + "': spaces and control characters are not allowed");
}

// ---------------------------------------------------------------------------
// Error mapping.
// ---------------------------------------------------------------------------

std::string first_line(const std::string& s) {
  auto text = s.substr(0, s.find('\n'));
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\t')) text.pop_back();
  return text;
}

/// The cause of a connection failure without the pool's own prefix.
std::string connect_cause(const std::string& s) {
  static constexpr std::string_view kPrefix = "database unreachable: ";
  auto text = first_line(s);
  if (text.rfind(kPrefix, 0) == 0) text.erase(0, kPrefix.size());
  return text;
}

/// Runs `body`, turning what the pool or libpqxx throws into StoreError
/// with a one-line message. Unavailable names where the DSN points.
template <typename Fn>
auto guarded(ConnectionPool& pool, Fn&& body) -> decltype(body()) {
  const auto where = [&] { return "database at " + describe_dsn(pool.dsn()); };
  try {
    return body();
  } catch (const StoreError& e) {
    if (e.kind() == Kind::Unavailable)
      throw StoreError(Kind::Unavailable, where() + " unavailable: " + connect_cause(e.what()));
    if (e.kind() == Kind::Unknown)
      throw StoreError(Kind::Unknown, first_line(e.what()) + " (" + where() + ")");
    throw StoreError(e.kind(), first_line(e.what()));
  } catch (const pqxx::broken_connection& e) {
    throw StoreError(Kind::Unavailable, where() + " unavailable: " + first_line(e.what()));
  } catch (const pqxx::undefined_table& e) {
    throw StoreError(Kind::Schema, "database schema does not match this build: " + first_line(e.what()));
  } catch (const pqxx::undefined_column& e) {
    throw StoreError(Kind::Schema, "database schema does not match this build: " + first_line(e.what()));
  } catch (const pqxx::insufficient_privilege& e) {
    throw StoreError(Kind::Unavailable, where() + ": " + first_line(e.what()));
  } catch (const pqxx::check_violation& e) {
    throw StoreError(Kind::Invalid, "rejected by the database: " + first_line(e.what()));
  } catch (const pqxx::data_exception& e) {
    throw StoreError(Kind::Invalid, "rejected by the database: " + first_line(e.what()));
  } catch (const pqxx::failure& e) {
    throw StoreError(Kind::Internal, "database error: " + first_line(e.what()));
  }
}

// ---------------------------------------------------------------------------
// Reading subscribers.
// ---------------------------------------------------------------------------

/// One subscriber by external id, or all of them (external_id = nullopt).
std::vector<SubscriberInfo> load_subscribers(pqxx::transaction_base& tx,
                                             const std::optional<std::string>& external_id) {
  std::vector<SubscriberInfo> out;
  std::map<std::int64_t, std::size_t> index;

  const auto rows = tx.exec_params(
      R"SQL(
      SELECT s.id, s.external_id, s.status, s.status_reason, s.account_type, s.subscriber_group,
             p.name, coalesce(sp.name, pp.name),
             coalesce(a.currency, p.currency), c.exponent,
             coalesce(a.balance, 0), coalesce(a.credit_limit, 0),
             (SELECT coalesce(sum(r.money), 0)::bigint
                FROM reservations r JOIN charging_sessions cs ON cs.id = r.session_id
               WHERE r.subscriber_id = s.id AND cs.state = 'open'),
             (SELECT count(*) FROM charging_sessions cs
               WHERE cs.subscriber_id = s.id AND cs.state = 'open')
        FROM subscribers s
        JOIN plans p ON p.id = s.plan_id
        JOIN policies pp ON pp.id = p.policy_id
        LEFT JOIN policies sp ON sp.id = s.policy_id
        LEFT JOIN accounts a ON a.subscriber_id = s.id
        JOIN currencies c ON c.code = coalesce(a.currency, p.currency)
       WHERE $1::text IS NULL OR s.external_id = $1
       ORDER BY s.external_id)SQL",
      external_id);
  for (const auto& r : rows) {
    SubscriberInfo info;
    info.id = r[0].as<std::int64_t>();
    info.external_id = r[1].as<std::string>();
    info.status = subscriber_status_from_string(r[2].as<std::string>()).value_or(SubscriberStatus::Blocked);
    info.status_reason = optional_text(r[3]);
    info.account_type = r[4].as<std::string>();
    info.group = optional_text(r[5]);
    info.plan = r[6].as<std::string>();
    info.policy = r[7].as<std::string>();
    info.currency = r[8].as<std::string>();
    info.currency_exponent = r[9].as<int>();
    info.balance = r[10].as<std::int64_t>();
    info.credit_limit = r[11].as<std::int64_t>();
    info.reserved = r[12].as<std::int64_t>();
    info.open_sessions = r[13].as<std::size_t>();
    index[info.id] = out.size();
    out.push_back(std::move(info));
  }
  if (out.empty()) return out;

  const auto identities = tx.exec_params(
      R"SQL(
      SELECT i.subscriber_id, i.kind, i.value
        FROM subscriber_identities i JOIN subscribers s ON s.id = i.subscriber_id
       WHERE $1::text IS NULL OR s.external_id = $1
       ORDER BY i.subscriber_id,
                array_position(ARRAY['msisdn', 'imsi', 'nai', 'sip_uri', 'username'], i.kind), i.id)SQL",
      external_id);
  for (const auto& r : identities) {
    auto it = index.find(r[0].as<std::int64_t>());
    if (it == index.end()) continue;
    out[it->second].identities.push_back({identity_kind_from_string(r[1].as<std::string>()).value_or(IdentityKind::Nai), r[2].as<std::string>()});
  }

  // Current buckets: expired ones are history, not allowances.
  const auto buckets = tx.exec_params(
      R"SQL(
      SELECT b.subscriber_id, b.id, b.rating_group, b.unit_family, b.initial_units, b.remaining,
             extract(epoch FROM b.valid_from)::bigint, extract(epoch FROM b.valid_until)::bigint
        FROM buckets b JOIN subscribers s ON s.id = b.subscriber_id
       WHERE ($1::text IS NULL OR s.external_id = $1)
         AND (b.valid_until IS NULL OR b.valid_until > now())
       ORDER BY b.subscriber_id, b.id)SQL",
      external_id);
  for (const auto& r : buckets) {
    auto it = index.find(r[0].as<std::int64_t>());
    if (it == index.end()) continue;
    BucketInfo b;
    b.id = r[1].as<std::int64_t>();
    b.rating_group = optional_rating_group(r[2]);
    b.family = family_from_column(r[3].as<std::string>());
    b.initial = r[4].as<std::uint64_t>();
    b.remaining = r[5].as<std::uint64_t>();
    b.valid_from = optional_time(r[6]);
    b.valid_until = optional_time(r[7]);
    out[it->second].buckets.push_back(b);
  }
  return out;
}

SubscriberInfo load_one(pqxx::transaction_base& tx, const std::string& external_id) {
  auto all = load_subscribers(tx, external_id);
  if (all.empty()) throw StoreError(Kind::NotFound, "unknown subscriber '" + external_id + "'");
  return std::move(all.front());
}

/// Which unique constraint a unique_violation hit, as a message. Used when
/// a concurrent writer got there between our checks and our inserts.
std::string duplicate_message(const pqxx::unique_violation& e, const std::string& external_id) {
  const std::string what = e.what();
  if (what.find("subscribers_external_id_key") != std::string::npos)
    return "subscriber '" + external_id + "' already exists";
  if (what.find("subscriber_identities_kind_value_key") != std::string::npos) {
    // "Key (kind, value)=(msisdn, 4917...) already exists."
    const auto key = what.find("=(");
    const auto end = what.find(')', key == std::string::npos ? 0 : key);
    if (key != std::string::npos && end != std::string::npos)
      return "identity (" + what.substr(key + 2, end - key - 2) + ") is already in use";
    return "one of the identities is already in use";
  }
  return "duplicate value: " + first_line(what);
}

struct Identities {
  std::vector<std::pair<IdentityKind, std::string>> list;
  std::optional<std::string> password;
};

Identities validated_identities(const NewSubscriber& s) {
  Identities ids;
  if (s.msisdn) {
    std::string msisdn = *s.msisdn;
    if (!msisdn.empty() && msisdn.front() == '+') msisdn.erase(0, 1);
    if (auto err = check_msisdn(msisdn)) throw StoreError(Kind::Invalid, *err);
    ids.list.emplace_back(IdentityKind::Msisdn, msisdn);
  }
  if (s.imsi) {
    if (auto err = check_imsi(*s.imsi)) throw StoreError(Kind::Invalid, *err);
    ids.list.emplace_back(IdentityKind::Imsi, *s.imsi);
  }
  if (s.nai) {
    require(!s.nai->empty() && !has_space_or_control(*s.nai),
            "invalid NAI '" + *s.nai + "': must not be empty or contain spaces (e.g. user@realm)");
    ids.list.emplace_back(IdentityKind::Nai, *s.nai);
  }
  require(s.username.has_value() == s.password.has_value(),
          s.username ? "username '" + *s.username + "' needs a password" : std::string("a password needs a username"));
  if (s.username) {
    require(!s.username->empty() && !has_space_or_control(*s.username),
            "invalid username '" + *s.username + "': must not be empty or contain spaces");
    require(!s.password->empty() && !has_control(*s.password), "invalid password: must not be empty or contain control characters");
    ids.list.emplace_back(IdentityKind::Username, *s.username);
    ids.password = s.password;
  }
  return ids;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public helpers.
// ---------------------------------------------------------------------------

std::optional<std::string> check_msisdn(const std::string& msisdn) {
  if (all_digits(msisdn) && msisdn.size() >= 5 && msisdn.size() <= 15) return std::nullopt;
  return "invalid MSISDN '" + msisdn + "': expected 5 to 15 digits in E.164 form, country code first (e.g. 491700000001)";
}

std::optional<std::string> check_imsi(const std::string& imsi) {
  if (all_digits(imsi) && imsi.size() >= 6 && imsi.size() <= 15) return std::nullopt;
  return "invalid IMSI '" + imsi + "': expected 6 to 15 digits, MCC and MNC first (e.g. 262010000000001)";
}

std::map<std::string, std::string> dsn_parameters(const std::string& dsn) {
  std::map<std::string, std::string> kv;

  const auto uri_prefix = [&](const char* p) { return dsn.rfind(p, 0) == 0; };
  if (uri_prefix("postgresql://") || uri_prefix("postgres://")) {
    // postgresql://[user[:password]@][host][:port][/dbname][?k=v&...]
    std::string rest = dsn.substr(dsn.find("://") + 3);
    std::string query;
    if (auto q = rest.find('?'); q != std::string::npos) {
      query = rest.substr(q + 1);
      rest.erase(q);
    }
    if (auto slash = rest.find('/'); slash != std::string::npos) {
      if (slash + 1 < rest.size()) kv["dbname"] = rest.substr(slash + 1);
      rest.erase(slash);
    }
    if (auto at = rest.rfind('@'); at != std::string::npos) {
      const auto userinfo = rest.substr(0, at);
      const auto colon = userinfo.find(':');
      kv["user"] = userinfo.substr(0, colon);
      if (colon != std::string::npos) kv["password"] = userinfo.substr(colon + 1);
      rest.erase(0, at + 1);
    }
    const auto colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
      kv["port"] = rest.substr(colon + 1);
      rest.erase(colon);
    }
    if (!rest.empty()) kv["host"] = rest;
    std::size_t pos = 0;
    while (pos < query.size()) {
      auto amp = query.find('&', pos);
      if (amp == std::string::npos) amp = query.size();
      const auto pair = query.substr(pos, amp - pos);
      if (auto eq = pair.find('='); eq != std::string::npos) kv[pair.substr(0, eq)] = pair.substr(eq + 1);
      pos = amp + 1;
    }
  } else {
    // keyword = value ['quoted \' value'] ...
    std::size_t i = 0;
    const auto skip_space = [&] {
      while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
    };
    while (true) {
      skip_space();
      if (i >= dsn.size()) break;
      std::string key;
      while (i < dsn.size() && dsn[i] != '=' && !std::isspace(static_cast<unsigned char>(dsn[i]))) key += dsn[i++];
      skip_space();
      if (i >= dsn.size() || dsn[i] != '=') break;  // malformed: show what we have
      ++i;
      skip_space();
      std::string value;
      if (i < dsn.size() && dsn[i] == '\'') {
        ++i;
        while (i < dsn.size() && dsn[i] != '\'') {
          if (dsn[i] == '\\' && i + 1 < dsn.size()) ++i;
          value += dsn[i++];
        }
        ++i;
      } else {
        while (i < dsn.size() && !std::isspace(static_cast<unsigned char>(dsn[i]))) {
          if (dsn[i] == '\\' && i + 1 < dsn.size()) ++i;
          value += dsn[i++];
        }
      }
      kv[key] = value;  // later keywords win, as in libpq
    }
  }
  return kv;
}

std::string describe_dsn(const std::string& dsn) {
  static constexpr std::array<const char*, 5> kShown = {"host", "hostaddr", "port", "dbname", "user"};
  const auto kv = dsn_parameters(dsn);
  std::string out;
  for (const char* key : kShown) {
    auto it = kv.find(key);
    if (it == kv.end() || it->second.empty()) continue;
    if (!out.empty()) out += ' ';
    out += std::string(key) + "=" + it->second;
  }
  return out.empty() ? std::string("the default local server") : out;
}

// ---------------------------------------------------------------------------
// AdminStore.
// ---------------------------------------------------------------------------

SubscriberInfo PgAdminStore::add_subscriber(const NewSubscriber& s) {
  check_external_id(s.external_id);
  require(!s.plan.empty(), "a plan is required");
  const Identities ids = validated_identities(s);
  require(s.balance >= 0, "the opening balance must not be negative");
  require(s.credit_limit >= 0, "the credit limit must not be negative");
  require(s.account_type == "prepaid" || s.account_type == "postpaid",
          "invalid account type '" + s.account_type + "': expected prepaid or postpaid");

  return guarded(pool_, [&] {
    SubscriberInfo result;
    run_transaction(pool_, [&](pqxx::connection& c) {
      pqxx::work tx(c);
      const auto plan = tx.exec_params("SELECT id, currency FROM plans WHERE name = $1", s.plan);
      if (plan.empty()) throw StoreError(Kind::NotFound, "unknown plan '" + s.plan + "'");
      const auto plan_id = plan[0][0].as<std::int64_t>();
      const auto currency = plan[0][1].as<std::string>();

      // Checked first for a message that names the culprit; the unique
      // constraints still decide when two writers race.
      if (!tx.exec_params("SELECT 1 FROM subscribers WHERE external_id = $1", s.external_id).empty())
        throw StoreError(Kind::Duplicate, "subscriber '" + s.external_id + "' already exists");
      for (const auto& [kind, value] : ids.list) {
        const auto owner = tx.exec_params(
            "SELECT s.external_id FROM subscriber_identities i JOIN subscribers s ON s.id = i.subscriber_id "
            "WHERE i.kind = $1 AND i.value = $2",
            to_string(kind), value);
        if (!owner.empty())
          throw StoreError(Kind::Duplicate, std::string(identity_label(kind)) + " '" + value +
                                                "' already belongs to subscriber '" +
                                                owner[0][0].as<std::string>() + "'");
      }

      try {
        const auto id = tx.exec_params1(
                              "INSERT INTO subscribers (external_id, account_type, subscriber_group, plan_id) "
                              "VALUES ($1, $2, $3, $4) RETURNING id",
                              s.external_id, s.account_type, s.group, plan_id)[0]
                            .as<std::int64_t>();
        for (const auto& [kind, value] : ids.list) {
          const std::optional<std::string> password =
              kind == IdentityKind::Username ? ids.password : std::nullopt;
          tx.exec_params0("INSERT INTO subscriber_identities (subscriber_id, kind, value, password) "
                          "VALUES ($1, $2, $3, $4)",
                          id, to_string(kind), value, password);
        }
        tx.exec_params0("INSERT INTO accounts (subscriber_id, currency, balance, credit_limit) VALUES ($1, $2, $3, $4)",
                        id, currency, s.balance, s.credit_limit);
        if (s.balance > 0) {
          tx.exec_params0("INSERT INTO ledger_entries (subscriber_id, kind, amount, currency, balance_after) "
                          "VALUES ($1, 'topup', $2, $3, $2)",
                          id, s.balance, currency);
        }
      } catch (const pqxx::unique_violation& e) {
        throw StoreError(Kind::Duplicate, duplicate_message(e, s.external_id));
      }
      result = load_one(tx, s.external_id);
      tx.commit();
    });
    return result;
  });
}

std::optional<SubscriberInfo> PgAdminStore::find_subscriber(const std::string& external_id) {
  return guarded(pool_, [&] {
    std::optional<SubscriberInfo> result;
    run_transaction(pool_, [&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      auto all = load_subscribers(tx, external_id);
      result = all.empty() ? std::nullopt : std::optional<SubscriberInfo>(std::move(all.front()));
    });
    return result;
  });
}

std::vector<SubscriberInfo> PgAdminStore::list_subscribers() {
  return guarded(pool_, [&] {
    std::vector<SubscriberInfo> result;
    run_transaction(pool_, [&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      result = load_subscribers(tx, std::nullopt);
    });
    return result;
  });
}

SubscriberInfo PgAdminStore::set_status(const std::string& external_id, SubscriberStatus status,
                                        const std::optional<std::string>& reason) {
  if (reason) require(!has_control(*reason), "the reason must not contain control characters");
  // Unblocking clears the reason; an empty reason is no reason.
  std::optional<std::string> stored_reason;
  if (status != SubscriberStatus::Active && reason && !reason->empty()) stored_reason = reason;

  return guarded(pool_, [&] {
    SubscriberInfo result;
    run_transaction(pool_, [&](pqxx::connection& c) {
      pqxx::work tx(c);
      const auto updated = tx.exec_params(
          "UPDATE subscribers SET status = $2, status_reason = $3, updated_at = now() "
          "WHERE external_id = $1 RETURNING id",
          external_id, ocs::to_string(status), stored_reason);
      if (updated.empty()) throw StoreError(Kind::NotFound, "unknown subscriber '" + external_id + "'");
      result = load_one(tx, external_id);
      tx.commit();
    });
    return result;
  });
}

TopupResult PgAdminStore::topup(const std::string& external_id, Money amount,
                                const std::optional<std::string>& reference) {
  require(amount > 0, "the top-up amount must be positive");
  if (reference)
    require(!reference->empty() && !has_control(*reference),
            "the top-up reference must not be empty or contain control characters");

  return guarded(pool_, [&] {
    TopupResult result;
    // A second attempt runs only when a concurrent top-up with the same
    // reference committed between our check and our insert: it then finds
    // that row and reports applied = false.
    for (int attempt = 1;; ++attempt) {
      bool raced = false;
      run_transaction(pool_, [&](pqxx::connection& c) {
        raced = false;
        pqxx::work tx(c);
        const auto account = tx.exec_params(
            "SELECT a.subscriber_id, a.currency, c.exponent, a.balance "
            "FROM subscribers s JOIN accounts a ON a.subscriber_id = s.id "
            "JOIN currencies c ON c.code = a.currency "
            "WHERE s.external_id = $1 FOR UPDATE OF a",
            external_id);
        if (account.empty()) throw StoreError(Kind::NotFound, "unknown subscriber '" + external_id + "'");
        const auto subscriber_id = account[0][0].as<std::int64_t>();
        result.currency = account[0][1].as<std::string>();
        result.currency_exponent = account[0][2].as<int>();
        const auto balance = account[0][3].as<std::int64_t>();

        if (reference) {
          const auto seen = tx.exec_params(
              "SELECT l.subscriber_id, s.external_id, l.amount FROM ledger_entries l "
              "JOIN subscribers s ON s.id = l.subscriber_id "
              "WHERE l.kind = 'topup' AND l.reference = $1",
              *reference);
          if (!seen.empty()) {
            if (seen[0][0].as<std::int64_t>() != subscriber_id)
              throw StoreError(Kind::Duplicate, "top-up reference '" + *reference +
                                                    "' was already credited to subscriber '" +
                                                    seen[0][1].as<std::string>() + "'");
            if (seen[0][2].as<std::int64_t>() != amount)
              throw StoreError(Kind::Duplicate, "top-up reference '" + *reference +
                                                    "' was already credited with a different amount");
            result.applied = false;
            result.amount = amount;
            result.balance_after = balance;
            return;  // nothing written; the transaction rolls back
          }
        }
        require(balance <= std::numeric_limits<Money>::max() - amount, "the balance would overflow");
        const Money after = balance + amount;
        try {
          tx.exec_params0("INSERT INTO ledger_entries (subscriber_id, kind, amount, currency, balance_after, reference) "
                          "VALUES ($1, 'topup', $2, $3, $4, $5)",
                          subscriber_id, amount, result.currency, after, reference);
        } catch (const pqxx::unique_violation&) {
          raced = true;  // the index ledger_topup_reference caught a concurrent twin
          return;
        }
        tx.exec_params0("UPDATE accounts SET balance = $2, updated_at = now() WHERE subscriber_id = $1",
                        subscriber_id, after);
        tx.commit();
        result.applied = true;
        result.amount = amount;
        result.balance_after = after;
      });
      if (!raced) return result;
      if (attempt >= 3)
        throw StoreError(Kind::Duplicate, "top-up reference '" + reference.value_or("") + "' kept conflicting");
    }
  });
}

std::vector<SessionInfo> PgAdminStore::sessions(const std::optional<std::string>& external_id) {
  return guarded(pool_, [&] {
    std::vector<SessionInfo> result;
    run_transaction(pool_, [&](pqxx::connection& c) {
      result.clear();
      pqxx::read_transaction tx(c);
      if (external_id &&
          tx.exec_params("SELECT 1 FROM subscribers WHERE external_id = $1", *external_id).empty())
        throw StoreError(Kind::NotFound, "unknown subscriber '" + *external_id + "'");
      const auto rows = tx.exec_params(
          R"SQL(
          SELECT cs.id, s.external_id, cs.protocol, cs.state, cs.credit_state,
                 cs.origin_host, cs.nas_address,
                 extract(epoch FROM cs.created_at)::bigint, extract(epoch FROM cs.last_seen)::bigint,
                 extract(epoch FROM cs.expires_at)::bigint,
                 coalesce(sum(r.money), 0)::bigint,
                 string_agg(r.rating_group::text, ',' ORDER BY r.rating_group)
            FROM charging_sessions cs
            JOIN subscribers s ON s.id = cs.subscriber_id
            LEFT JOIN reservations r ON r.session_id = cs.id
           WHERE cs.state = 'open' AND ($1::text IS NULL OR s.external_id = $1)
           GROUP BY cs.id, s.external_id
           ORDER BY cs.created_at, cs.id)SQL",
          external_id);
      for (const auto& r : rows) {
        SessionInfo info;
        info.session_id = r[0].as<std::string>();
        info.subscriber = r[1].as<std::string>();
        info.protocol = r[2].as<std::string>();
        info.state = r[3].as<std::string>();
        info.credit_state = r[4].as<std::string>();
        info.origin_host = r[5].is_null() ? "" : r[5].as<std::string>();
        info.nas_address = r[6].is_null() ? "" : r[6].as<std::string>();
        info.created_at = from_epoch(r[7].as<std::int64_t>());
        info.last_seen = from_epoch(r[8].as<std::int64_t>());
        info.expires_at = optional_time(r[9]);
        info.reserved = r[10].as<std::int64_t>();
        if (!r[11].is_null()) {
          const auto groups = r[11].as<std::string>();
          std::size_t pos = 0;
          while (pos <= groups.size()) {
            auto comma = groups.find(',', pos);
            if (comma == std::string::npos) comma = groups.size();
            info.rating_groups.push_back(static_cast<std::uint32_t>(std::stoul(groups.substr(pos, comma - pos))));
            pos = comma + 1;
          }
        }
        result.push_back(std::move(info));
      }
    });
    return result;
  });
}

std::vector<PlanInfo> PgAdminStore::plans() {
  return guarded(pool_, [&] {
    std::vector<PlanInfo> result;
    run_transaction(pool_, [&](pqxx::connection& c) {
      result.clear();
      pqxx::read_transaction tx(c);
      std::map<std::int64_t, std::size_t> plan_index;
      for (const auto& r : tx.exec(
               "SELECT p.id, p.name, p.currency, p.utc_offset_minutes, pol.name, c.exponent "
               "FROM plans p JOIN policies pol ON pol.id = p.policy_id "
               "JOIN currencies c ON c.code = p.currency ORDER BY p.name")) {
        PlanInfo info;
        info.plan.id = r[0].as<std::int64_t>();
        info.plan.name = r[1].as<std::string>();
        info.plan.currency = r[2].as<std::string>();
        info.plan.utc_offset_minutes = r[3].as<int>();
        info.policy = r[4].as<std::string>();
        info.currency_exponent = r[5].as<int>();
        plan_index[info.plan.id] = result.size();
        result.push_back(std::move(info));
      }

      // rating group id -> (plan position, tariff position)
      std::map<std::int64_t, std::pair<std::size_t, std::size_t>> rg_index;
      for (const auto& r : tx.exec(
               "SELECT id, plan_id, rating_group, unit, block_units, rounding, default_grant, max_grant "
               "FROM plan_rating_groups ORDER BY plan_id, rating_group NULLS LAST, id")) {
        auto it = plan_index.find(r[1].as<std::int64_t>());
        if (it == plan_index.end()) continue;
        RatingGroupTariff t;
        t.rating_group = optional_rating_group(r[2]);
        t.unit = unit_from_string(r[3].as<std::string>()).value_or(Unit::OctetsTotal);
        t.block_units = r[4].as<std::uint64_t>();
        t.rounding = rounding_from_string(r[5].as<std::string>()).value_or(Rounding::Up);
        t.default_grant = r[6].as<std::uint64_t>();
        t.max_grant = r[7].as<std::uint64_t>();
        auto& tariffs = result[it->second].plan.tariffs;
        rg_index[r[0].as<std::int64_t>()] = {it->second, tariffs.size()};
        tariffs.push_back(std::move(t));
      }

      for (const auto& r : tx.exec(
               "SELECT plan_rating_group_id, name, days_mask, start_minute, end_minute, price_per_block "
               "FROM tariff_periods ORDER BY plan_rating_group_id, priority, id")) {
        auto it = rg_index.find(r[0].as<std::int64_t>());
        if (it == rg_index.end()) continue;
        TariffPeriod p;
        p.name = r[1].as<std::string>();
        p.days_mask = static_cast<std::uint8_t>(r[2].as<int>());
        p.start_minute = r[3].as<int>();
        p.end_minute = r[4].as<int>();
        p.price_per_block = r[5].as<std::int64_t>();
        result[it->second.first].plan.tariffs[it->second.second].periods.push_back(std::move(p));
      }
    });
    return result;
  });
}

std::uint64_t PgAdminStore::purge_answers_once(TimePoint before, std::size_t chunk) {
  if (chunk < 1 || chunk > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw StoreError(Kind::Invalid, "purge chunk must be between 1 and " +
                                        std::to_string(std::numeric_limits<int>::max()));
  return guarded(pool_, [&] {
    int deleted = 0;
    run_transaction(pool_, [&](pqxx::connection& c) {
      pqxx::work tx(c);
      deleted = tx.exec_params1("SELECT ocs_purge_answers(to_timestamp($1), $2)", pg::epoch(before),
                                static_cast<int>(chunk))[0]
                    .as<int>();
      tx.commit();
    });
    return static_cast<std::uint64_t>(deleted);
  });
}

std::uint64_t PgAdminStore::purge_answers(TimePoint before, std::size_t chunk) {
  // One transaction per chunk: a purge never holds millions of row locks,
  // and what it deleted stays deleted if it is interrupted.
  std::uint64_t total = 0;
  for (;;) {
    const std::uint64_t deleted = purge_answers_once(before, chunk);
    total += deleted;
    if (deleted < chunk) return total;
  }
}

}  // namespace ocs::store
