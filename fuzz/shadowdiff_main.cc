// shadowdiff: replays, explains, reduces and converts shadow-MMU test cases.
// `shadowdiff --help` and `shadowdiff COMMAND --help` say how.
//
// Exit status: 0 every case agrees (known divergences, ones the baseline
// shares and cases the MMU does not support included; reduce, convert: done),
// 1 a divergence, 2 unreadable input, a usage error, or no case run at all.

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "fuzz/case_file.h"
#include "fuzz/case_support.h"
#include "fuzz/explain.h"
#include "fuzz/judge.h"
#include "fuzz/known_signatures.h"
#include "fuzz/reducer.h"
#include "fuzz/report.h"
#include "fuzz/run_settings.h"
#include "fuzz/semantic_coverage.h"
#include "fuzz/signature.h"
#include "host/mmu_registry.h"
#include "proto/normalize.h"

namespace shadowdiff {
namespace {

constexpr int kAgree = 0;
constexpr int kDiverge = 1;
constexpr int kBadInput = 2;

// The options of every command that runs cases. Each left unset takes the
// value the case file records (its `run`), then the default.
struct RunFlags {
  CLI::Option* mmu_option = nullptr;
  CLI::Option* inject_option = nullptr;
  CLI::Option* host_tlb_option = nullptr;
  CLI::Option* baseline_option = nullptr;
  CLI::Option* oracle_option = nullptr;
  std::string mmu;
  std::string oracle;
  std::string inject;
  std::string host_tlb;
  std::string baseline;
  std::string known_file;
};

void AddRunFlags(CLI::App& command, RunFlags& flags, bool triage) {
  flags.mmu_option =
      command
          .add_option("--mmu", flags.mmu,
                      "the MMU under test, NAME[:SWITCHES] (shadowdiff mmus "
                      "lists them; default shadow)")
          ->envname("SHADOWDIFF_MMU");
  flags.inject_option =
      command
          .add_option("--inject", flags.inject,
                      "the MMU's switches, comma-separated (impl: bug-zoo "
                      "names)")
          ->envname("SHADOWDIFF_INJECT");
  flags.host_tlb_option =
      command
          .add_option("--host-tlb", flags.host_tlb,
                      "tagged (flushed only when the MMU asks) or untagged "
                      "(also flushed on every return to the guest)")
          ->envname("SHADOWDIFF_HOST_TLB");
  flags.oracle_option =
      command
          .add_option("--oracle", flags.oracle,
                      "strict (every access through the current guest "
                      "tables) or architectural (what SDM 4.10 lets a TLB "
                      "keep)")
          ->envname("SHADOWDIFF_ORACLE");
  if (!triage) return;
  flags.baseline_option =
      command
          .add_option("--baseline-mmu", flags.baseline,
                      "NAME[:SWITCHES]: a divergence counts only if this MMU "
                      "does not have it too (same signature)")
          ->envname("SHADOWDIFF_BASELINE_MMU");
  command
      .add_option("--known", flags.known_file,
                  "a file of divergence signatures to tolerate, one a line "
                  "('*' matches anything)")
      ->envname("SHADOWDIFF_KNOWN");
}

// The settings for one case: the flags given, over what the case records.
absl::StatusOr<RunSettings> SettingsFor(const RunFlags& flags, const Case& c) {
  RunConfig record = c.run();
  if (flags.mmu_option->count() > 0) {
    const size_t colon = flags.mmu.find(':');
    record.set_mmu(flags.mmu.substr(0, colon));
    record.set_switches(
        colon == std::string::npos ? "" : flags.mmu.substr(colon + 1));
  }
  if (flags.inject_option->count() > 0) record.set_switches(flags.inject);
  if (flags.host_tlb_option->count() > 0) {
    absl::StatusOr<host::HostTlbTagging> tlb = ParseHostTlb(flags.host_tlb);
    if (!tlb.ok()) return tlb.status();
    record.set_host_tlb(*tlb == host::HostTlbTagging::kUntagged
                            ? HOST_TLB_UNTAGGED
                            : HOST_TLB_TAGGED);
  }
  if (flags.oracle_option->count() > 0) {
    absl::StatusOr<OracleKind> oracle = ParseOracle(flags.oracle);
    if (!oracle.ok()) return oracle.status();
    record.set_oracle(*oracle);
  }
  if (flags.baseline_option != nullptr && flags.baseline_option->count() > 0) {
    record.set_baseline_mmu(flags.baseline);
  }
  return SettingsFromRecord(record);
}

// The settings of a case read from file, or why there are none (the read
// error names the file; a bad record is named here).
absl::StatusOr<RunSettings> SettingsOf(const RunFlags& flags,
                                       const std::string& file,
                                       const absl::StatusOr<Case>& c) {
  if (!c.ok()) return c.status();
  absl::StatusOr<RunSettings> settings = SettingsFor(flags, *c);
  if (settings.ok()) return settings;
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: its recorded run settings: %s", file, settings.status().message()));
}

// Checks the flags alone, so that a bad one is a usage error even when there
// is nothing to run. --inject without --mmu names switches of the MMU each
// case records, so only each case can check it.
absl::Status CheckFlags(const RunFlags& flags) {
  if (flags.inject_option->count() > 0 && flags.mmu_option->count() == 0) {
    RunFlags alone = flags;
    alone.inject.clear();
    return SettingsFor(alone, Case()).status();
  }
  return SettingsFor(flags, Case()).status();
}

absl::StatusOr<std::optional<KnownSignatures>> LoadKnown(
    const RunFlags& flags) {
  if (flags.known_file.empty()) return std::nullopt;
  absl::StatusOr<KnownSignatures> known =
      KnownSignatures::Load(flags.known_file);
  if (!known.ok()) return known.status();
  return std::optional<KnownSignatures>(*std::move(known));
}

int Fail(const absl::Status& status) {
  std::cerr << "shadowdiff: " << status.message() << "\n";
  return kBadInput;
}

// One judge per distinct settings: the files of a directory may record
// different ones.
class Judges {
 public:
  explicit Judges(KnownSignatures* known) : known_(known) {}
  Judge& For(const RunSettings& settings) {
    const std::string key = SettingsFlags(settings);
    auto it = judges_.find(key);
    if (it == judges_.end()) {
      it =
          judges_.emplace(key, std::make_unique<Judge>(settings, known_)).first;
    }
    return *it->second;
  }

 private:
  KnownSignatures* known_;
  std::map<std::string, std::unique_ptr<Judge>> judges_;
};

// The case files under paths, saying what was skipped; fails when nothing
// is left to read.
absl::StatusOr<std::vector<std::string>> CaseFiles(
    const std::vector<std::string>& paths) {
  absl::StatusOr<CaseFileList> list = ListCaseFiles(paths);
  if (!list.ok()) return list.status();
  for (const std::string& skipped : list->skipped) {
    std::cerr << "shadowdiff: skipped " << skipped << "\n";
  }
  return list->files;
}

absl::StatusOr<Case> ReadNormalized(const std::string& path) {
  absl::StatusOr<Case> c = ReadCaseFile(path);
  if (c.ok()) Normalize(*c);
  return c;
}

int Replay(const RunFlags& flags, const std::vector<std::string>& paths) {
  if (absl::Status s = CheckFlags(flags); !s.ok()) return Fail(s);
  absl::StatusOr<std::optional<KnownSignatures>> known = LoadKnown(flags);
  if (!known.ok()) return Fail(known.status());
  absl::StatusOr<std::vector<std::string>> files = CaseFiles(paths);
  if (!files.ok()) return Fail(files.status());
  Judges judges(*known ? &**known : nullptr);
  int agreed = 0, diverged = 0, unreadable = 0, unsupported = 0, tolerated = 0;
  for (const std::string& file : *files) {
    absl::StatusOr<Case> c = ReadNormalized(file);
    absl::StatusOr<RunSettings> settings = SettingsOf(flags, file, c);
    if (!settings.ok()) {
      std::cerr << "shadowdiff: " << settings.status().message() << "\n";
      ++unreadable;
      continue;
    }
    const Verdict verdict = judges.For(*settings).Run(*c);
    switch (verdict.kind) {
      case Verdict::Kind::kAgree:
        ++agreed;
        break;
      case Verdict::Kind::kUnsupported:
        std::cout << file << ": unsupported by " << settings->mmu.name << " ("
                  << verdict.unsupported << ")\n";
        ++unsupported;
        break;
      case Verdict::Kind::kKnown:
      case Verdict::Kind::kInBaseline:
        std::cout << file << ": "
                  << (verdict.kind == Verdict::Kind::kKnown
                          ? "known divergence "
                          : "divergence the baseline shares ")
                  << verdict.signature << "\n";
        ++tolerated;
        break;
      case Verdict::Kind::kDivergence:
        std::cout << file << ":\n"
                  << FormatReport(*c, *verdict.divergence, *settings);
        ++diverged;
        break;
    }
  }
  const int ran = agreed + diverged + tolerated;
  std::cout << absl::StrFormat(
      "shadowdiff: ran %d case%s: %d agree, %d diverge", ran,
      ran == 1 ? "" : "s", agreed, diverged);
  if (tolerated > 0) std::cout << ", " << tolerated << " tolerated";
  if (unsupported > 0) std::cout << ", " << unsupported << " unsupported";
  if (unreadable > 0) std::cout << ", " << unreadable << " unreadable";
  std::cout << "\n";
  if (*known && (*known)->matched() > 0) {
    std::cout << "known signatures matched:\n" << (*known)->Tally();
  }
  if (unreadable > 0) return kBadInput;
  if (ran + unsupported == 0) {
    std::cerr << "shadowdiff: no case to run\n";
    return kBadInput;
  }
  return diverged > 0 ? kDiverge : kAgree;
}

int Explain(const RunFlags& flags, const std::string& path) {
  if (absl::Status s = CheckFlags(flags); !s.ok()) return Fail(s);
  absl::StatusOr<Case> c = ReadNormalized(path);
  if (!c.ok()) return Fail(c.status());
  absl::StatusOr<RunSettings> settings = SettingsFor(flags, *c);
  if (!settings.ok()) return Fail(settings.status());
  Judge judge(*settings);
  Explainer explainer(*c, judge, std::cout);
  const Verdict verdict = judge.Run(*c, &explainer);
  if (verdict.kind == Verdict::Kind::kUnsupported) {
    std::cout << "shadowdiff: unsupported by " << settings->mmu.name << " ("
              << verdict.unsupported << "): not run\n";
    return kAgree;
  }
  if (judge.last_mmu() != nullptr) {
    std::cout << "MMU counters at the end:\n";
    for (const host::Counter& counter : judge.last_mmu()->Counters()) {
      std::cout << "  " << counter.name << " " << counter.value << "\n";
    }
  }
  if (verdict.divergence) {
    std::cout << FormatReport(*c, *verdict.divergence, *settings);
    return kDiverge;
  }
  std::cout << "shadowdiff: the case agrees (" << verdict.ops_run << " ops)\n";
  return kAgree;
}

int Reduce(const RunFlags& flags, const std::string& in,
           const std::string& out) {
  if (absl::Status s = CheckFlags(flags); !s.ok()) return Fail(s);
  absl::StatusOr<std::optional<KnownSignatures>> known = LoadKnown(flags);
  if (!known.ok()) return Fail(known.status());
  absl::StatusOr<Case> c = ReadNormalized(in);
  if (!c.ok()) return Fail(c.status());
  absl::StatusOr<RunSettings> settings = SettingsFor(flags, *c);
  if (!settings.ok()) return Fail(settings.status());
  Judge judge(*settings, *known ? &**known : nullptr);
  // The condition kept while shrinking is the one that made it a finding:
  // a divergence that is neither known nor shared by the baseline.
  auto run = [&](const Case& candidate) -> std::optional<Divergence> {
    Verdict verdict = judge.Run(candidate);
    if (verdict.kind != Verdict::Kind::kDivergence) return std::nullopt;
    return std::move(verdict.divergence);
  };
  if (!run(*c)) {
    std::cerr << "shadowdiff: " << in
              << " has no divergence to keep (it agrees, is unsupported, "
                 "known or shared by the baseline): nothing to reduce\n";
    return kBadInput;
  }
  ReduceStats stats;
  const Case reduced =
      RecordingSettings(Reducer(run).Reduce(*c, &stats), *settings);
  const std::optional<Divergence> d = run(reduced);
  const std::string header = absl::StrFormat(
      "# Reduced by `shadowdiff reduce %s` from %s.\n"
      "# %s divergence: %s\n# signature: %s\n",
      SettingsFlags(*settings), in, KindName(d->kind), d->summary,
      Signature(reduced, *d));
  if (absl::Status s = WriteCaseFile(out, reduced, header); !s.ok()) {
    return Fail(s);
  }
  std::cout << absl::StrFormat(
      "shadowdiff reduce: %d ops -> %d ops, %d set-up writes -> %d, in %d "
      "runs; still a %s divergence\n%s",
      stats.ops_before, stats.ops_after, stats.setup_writes_before,
      stats.setup_writes_after, stats.runs, KindName(d->kind),
      FormatReport(reduced, *d, *settings));
  return kAgree;
}

int Coverage(const RunFlags& flags, const std::vector<std::string>& paths) {
  if (absl::Status s = CheckFlags(flags); !s.ok()) return Fail(s);
  absl::StatusOr<std::vector<std::string>> files = CaseFiles(paths);
  if (!files.ok()) return Fail(files.status());
  SemanticCoverage coverage;
  Judges judges(nullptr);
  int diverged = 0, unreadable = 0, ran = 0;
  for (const std::string& file : *files) {
    absl::StatusOr<Case> c = ReadNormalized(file);
    absl::StatusOr<RunSettings> settings = SettingsOf(flags, file, c);
    if (!settings.ok()) {
      std::cerr << "shadowdiff: " << settings.status().message() << "\n";
      ++unreadable;
      continue;
    }
    if (IsEmpty(*c)) continue;
    Judge& judge = judges.For(*settings);
    const Verdict verdict = judge.Run(*c, &coverage.observer());
    if (verdict.kind == Verdict::Kind::kUnsupported) continue;
    ++ran;
    diverged += verdict.kind == Verdict::Kind::kDivergence;
    coverage.AddCase(*c, judge.last_mmu()->Counters());
  }
  std::cout << coverage.Summary();
  if (diverged > 0) std::cout << diverged << " of them diverge\n";
  if (unreadable > 0) {
    std::cerr << "shadowdiff: " << unreadable << " unreadable case file"
              << (unreadable == 1 ? "" : "s") << "\n";
    return kBadInput;
  }
  if (ran == 0) {
    std::cerr << "shadowdiff: no case to run\n";
    return kBadInput;
  }
  return diverged > 0 ? kDiverge : kAgree;
}

int Convert(const std::string& in, const std::string& out) {
  absl::StatusOr<Case> c = ReadCaseFile(in);
  if (!c.ok()) return Fail(c.status());
  if (absl::Status s = WriteCaseFile(out, *c); !s.ok()) return Fail(s);
  return kAgree;
}

int ListMmus() {
  for (const std::string& name : host::MmuNames()) {
    const host::MmuInfo& info = *host::FindMmu(name);
    const host::MmuCapabilities& caps = info.capabilities;
    std::vector<std::string> modes;
    if (caps.SupportsMode(host::GuestMode::k32Bit)) modes.push_back("32-bit");
    if (caps.SupportsMode(host::GuestMode::kPae)) modes.push_back("PAE");
    if (caps.SupportsMode(host::GuestMode::k4Level)) modes.push_back("4-level");
    std::vector<std::string> controls;
    for (const ControlInfo& control : Controls()) {
      if (caps.SupportsControl(control.control)) {
        controls.push_back(control.name);
      }
    }
    std::cout << absl::StrFormat(
        "%s: %s\n  modes %s; controls %s; 1 GB pages %s; vCPUs %d\n"
        "  switches: %s\n",
        name, info.summary, absl::StrJoin(modes, ", "),
        controls.empty() ? "none" : absl::StrJoin(controls, ", "),
        caps.gbpages ? "yes" : "no", caps.max_vcpus,
        info.switches.empty() ? "none" : info.switches);
  }
  return kAgree;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "shadowdiff: differential testing of shadow MMUs against an executable "
      "reading of Intel SDM chapter 4. Exit status: 0 every case agrees, 1 a "
      "divergence, 2 unreadable input, a usage error or no case run."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "the help of every command");

  // Each command its own, since an option remembers whether it was given.
  RunFlags replay_flags, explain_flags, reduce_flags, coverage_flags;
  std::vector<std::string> paths;
  std::string output;

  CLI::App* replay = app.add_subcommand(
      "replay",
      "run every case (files, or directories recursively: every regular file "
      "in them) on the reference and the MMU under test");
  AddRunFlags(*replay, replay_flags, true);
  replay->add_option("PATH", paths, "case files or directories")->required();

  CLI::App* explain =
      app.add_subcommand("explain", "print the op-by-op trace of both sides");
  AddRunFlags(*explain, explain_flags, false);
  explain->add_option("PATH", paths, "one case file")->required()->expected(1);

  CLI::App* reduce = app.add_subcommand(
      "reduce",
      "shrink a diverging case, keeping its kind of divergence (and, with a "
      "baseline or known signatures, its being a finding)");
  AddRunFlags(*reduce, reduce_flags, true);
  reduce->add_option("IN", paths, "the case file")->required()->expected(1);
  reduce->add_option("-o,--output", output, "the reduced case (.textproto)")
      ->required();

  CLI::App* coverage = app.add_subcommand(
      "coverage",
      "what the cases reach: modes, op kinds, guest faults, MMU situations");
  AddRunFlags(*coverage, coverage_flags, false);
  coverage->add_option("PATH", paths, "case files or directories")->required();

  std::string convert_in, convert_out;
  CLI::App* convert = app.add_subcommand(
      "convert",
      "text <-> binary: input told by content, output by name (.textproto, "
      ".txtpb, .pbtxt are text; others binary)");
  convert->add_option("IN", convert_in, "the case file")->required();
  convert->add_option("OUT", convert_out, "where to write it")->required();

  CLI::App* mmus = app.add_subcommand(
      "mmus", "list the MMUs, their capabilities and switches");

  // CLI11 would only say that a command is required.
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands({})) {
    names.push_back(command->get_name());
  }
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    std::cerr << "shadowdiff: unknown command '" << argv[1]
              << "' (commands: " << absl::StrJoin(names, ", ") << ")\n";
    return kBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help is asked for and exits 0; every other parse error is a usage error.
    return app.exit(e) == 0 ? kAgree : kBadInput;
  }
  if (*replay) return Replay(replay_flags, paths);
  if (*explain) return Explain(explain_flags, paths[0]);
  if (*reduce) return Reduce(reduce_flags, paths[0], output);
  if (*coverage) return Coverage(coverage_flags, paths);
  if (*convert) return Convert(convert_in, convert_out);
  if (*mmus) return ListMmus();
  return kBadInput;
}

}  // namespace
}  // namespace shadowdiff

int main(int argc, char** argv) { return shadowdiff::Main(argc, argv); }
