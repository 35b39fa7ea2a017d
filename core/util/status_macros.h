// Status propagation macros. abseil 20220623 (Debian 12) ships none, so these
// are the project's one definition.
#ifndef KTLOG_CORE_UTIL_STATUS_MACROS_H_
#define KTLOG_CORE_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KTLOG_CONCAT_INNER_(a, b) a##b
#define KTLOG_CONCAT_(a, b) KTLOG_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// unless it is OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status ktlog_status_ = (expr);         \
    if (!ktlog_status_.ok()) return ktlog_status_; \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`, which may be
// a declaration (`auto x`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL_(KTLOG_CONCAT_(ktlog_statusor_, __LINE__), lhs, rexpr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                           \
  if (!statusor.ok()) return statusor.status();      \
  lhs = std::move(statusor).value()

#endif  // KTLOG_CORE_UTIL_STATUS_MACROS_H_
