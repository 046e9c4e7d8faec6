#include "fuzz/oracle.h"

#include "fuzz/architectural_oracle.h"
#include "fuzz/strict_oracle.h"

namespace shadowdiff {

std::unique_ptr<Oracle> MakeOracle(OracleKind kind, RunContext context) {
  if (kind == ORACLE_ARCHITECTURAL) {
    return std::make_unique<ArchitecturalOracle>(context);
  }
  return std::make_unique<StrictOracle>(context);
}

std::string_view OracleName(OracleKind kind) {
  return kind == ORACLE_ARCHITECTURAL ? "architectural" : "strict";
}

std::optional<OracleKind> OracleFromName(std::string_view name) {
  if (name == "strict") return ORACLE_STRICT;
  if (name == "architectural") return ORACLE_ARCHITECTURAL;
  return std::nullopt;
}

}  // namespace shadowdiff
