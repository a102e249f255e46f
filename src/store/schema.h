#pragma once
// The store's schema (internal to src/store): migrations applied in order, one transaction
// each, and the per-dialect SQL. {ID}, {INT} and {REAL} are replaced per dialect. Never edit a
// released migration: append a new one.

#include <span>
#include <string>

#include "store/db.h"

namespace mamori::store {

struct Migration {
  int version;
  const char* sql;
};

std::span<const Migration> migrations();
std::string dialect_sql(const char* sql, Dialect d);

}  // namespace mamori::store
