// Small helpers shared by the PostgreSQL stores (private to src/store).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>

#include <pqxx/pqxx>

#include "ocs/core/model.hpp"
#include "ocs/store/store.hpp"

namespace ocs::store::pg {

/// One entry of a store's statement table, prepared on every pooled
/// connection under `name`.
struct NamedSql {
  const char* name;
  const char* sql;
};

template <std::size_t N>
void prepare_all(pqxx::connection& c, const NamedSql (&statements)[N]) {
  for (const auto& s : statements) c.prepare(s.name, s.sql);
}

/// Times travel as Unix seconds: to_timestamp($n) in, extract(epoch ...) out.
inline std::int64_t epoch(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint from_epoch(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

/// A nullable column.
template <class T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

/// A database error as a StoreError: Schema for a missing table, column or
/// function, Invalid for libpqxx usage and conversion errors, Unavailable
/// for everything else (connections, timeouts).
inline StoreError as_store_error(const std::exception& e) {
  if (const auto* s = dynamic_cast<const StoreError*>(&e)) return *s;
  if (dynamic_cast<const pqxx::undefined_table*>(&e) || dynamic_cast<const pqxx::undefined_column*>(&e) ||
      dynamic_cast<const pqxx::undefined_function*>(&e))
    return StoreError(StoreError::Kind::Schema, e.what());
  if (dynamic_cast<const std::logic_error*>(&e))  // pqxx conversion and usage errors
    return StoreError(StoreError::Kind::Invalid, e.what());
  return StoreError(StoreError::Kind::Unavailable, e.what());
}

/// Runs `f`, turning any exception into StoreError.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    throw as_store_error(e);
  }
}

}  // namespace ocs::store::pg
