#ifndef SHADOWDIFF_FUZZ_REPORT_H_
#define SHADOWDIFF_FUZZ_REPORT_H_

#include <string>
#include <string_view>

#include "fuzz/divergence.h"
#include "fuzz/run_settings.h"
#include "host/host_walker.h"
#include "model/walk.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// The report a person acts on: which op, which kind, its signature, the run
// settings, the addresses, both outcomes, the reference walk, the MMU's own
// view and the whole case with the settings recorded in it.
std::string FormatReport(const Case& c, const Divergence& d,
                         const RunSettings& settings);

// A copy of c that records the settings (its `run`), as reduced files are.
Case RecordingSettings(const Case& c, const RunSettings& settings);

// Each level of a walk, one line each, indented.
std::string FormatWalk(const model::WalkResult& walk, PagingMode mode);
std::string FormatHostWalk(const host::HostWalkTrace& trace);

// The case as a text proto.
std::string CaseText(const Case& c);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_REPORT_H_
