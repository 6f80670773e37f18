#pragma once
// The project's only macros: propagate errors out of functions that return
// absl::Status or absl::StatusOr<T>. Same semantics as Abseil's internal
// ASSIGN_OR_RETURN / RETURN_IF_ERROR, which Debian's Abseil 20220623 lacks.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MLOPS_STATUS_CONCAT_INNER_(a, b) a##b
#define MLOPS_STATUS_CONCAT_(a, b) MLOPS_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the caller if not OK.
#define MLOPS_RETURN_IF_ERROR(expr)                        \
  do {                                                     \
    ::absl::Status mlops_status_ = (expr);                 \
    if (!mlops_status_.ok()) return mlops_status_;         \
  } while (false)

// `lhs` = value of `rexpr` (an absl::StatusOr<T>), or returns its status.
// lhs may declare a variable: MLOPS_ASSIGN_OR_RETURN(auto x, Compute());
#define MLOPS_ASSIGN_OR_RETURN(lhs, rexpr)                                   \
  MLOPS_ASSIGN_OR_RETURN_IMPL_(                                              \
      MLOPS_STATUS_CONCAT_(mlops_statusor_, __LINE__), lhs, rexpr)

#define MLOPS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
