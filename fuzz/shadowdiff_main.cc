// shadowdiff: replays, explains and converts shadow-MMU test cases.
//
//   shadowdiff replay [--inject=NAME[,NAME]] [--mmu=NAME] PATH...
//   shadowdiff explain [--inject=NAME[,NAME]] [--mmu=NAME] PATH
//   shadowdiff reduce [--inject=NAME[,NAME]] [--mmu=NAME] IN -o OUT.textproto
//   shadowdiff coverage [--mmu=NAME] PATH...
//   shadowdiff convert IN OUT
//
// Exit status: 0 every case agrees (reduce, convert: done), 1 a divergence,
// 2 unreadable input or a usage error.

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "fuzz/case_file.h"
#include "fuzz/explain.h"
#include "fuzz/mmu_registry.h"
#include "fuzz/reducer.h"
#include "fuzz/report.h"
#include "fuzz/runner.h"
#include "fuzz/semantic_coverage.h"
#include "proto/normalize.h"

namespace shadowdiff {
namespace {

constexpr int kAgree = 0;
constexpr int kDiverge = 1;
constexpr int kBadInput = 2;

// One source line per printed line, so the usage reads here as it prints.
// clang-format off
constexpr char kUsage[] =
    "usage:\n"
    "  shadowdiff replay [--inject=NAME[,NAME]] [--mmu=NAME] PATH...\n"
    "      run every case (files, or directories recursively) on the reference\n"
    "      and the MMU under test; exit 0 if all agree, 1 on a divergence\n"
    "  shadowdiff explain [--inject=NAME[,NAME]] [--mmu=NAME] PATH\n"
    "      print the op-by-op trace of both sides\n"
    "  shadowdiff reduce [--inject=NAME[,NAME]] [--mmu=NAME] IN -o OUT\n"
    "      shrink a diverging case, keeping its kind of divergence\n"
    "  shadowdiff coverage [--mmu=NAME] PATH...\n"
    "      what the cases reach: modes, op kinds, guest faults, MMU situations\n"
    "  shadowdiff convert IN OUT\n"
    "      text <-> binary (.textproto, .txtpb, .pbtxt are text; others binary)\n";
// clang-format on

struct Flags {
  std::string inject;
  std::string output;
  std::string mmu = std::string(kDefaultMmu);
  std::vector<std::string> paths;
};

int UsageError(absl::string_view message) {
  std::cerr << "shadowdiff: " << message << "\n" << kUsage;
  return kBadInput;
}

absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-o" && i + 1 < args.size()) {
      flags.output = args[++i];
    } else if (absl::StartsWith(arg, "--inject=")) {
      flags.inject = arg.substr(9);
    } else if (absl::StartsWith(arg, "--mmu=")) {
      flags.mmu = arg.substr(6);
    } else if (absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError("unknown flag " + arg);
    } else {
      flags.paths.push_back(arg);
    }
  }
  if (flags.paths.empty()) return absl::InvalidArgumentError("no input given");
  return flags;
}

int Replay(const Flags& flags) {
  // Checked once up front so that a bad --inject is a usage error even
  // when there is nothing to run.
  if (auto mmu = MakeMmu(flags.mmu, flags.inject); !mmu.ok()) {
    return UsageError(mmu.status().message());
  }
  absl::StatusOr<std::vector<std::string>> files = ListCaseFiles(flags.paths);
  if (!files.ok()) return UsageError(files.status().message());
  int agreed = 0, diverged = 0, unreadable = 0;
  Runner runner;
  for (const std::string& file : *files) {
    absl::StatusOr<Case> c = ReadCaseFile(file);
    if (!c.ok()) {
      std::cerr << "shadowdiff: " << c.status().message() << "\n";
      ++unreadable;
      continue;
    }
    Normalize(*c);
    auto mmu = MakeMmu(flags.mmu, flags.inject);
    RunResult result = runner.Run(*c, **mmu);
    if (result.divergence) {
      std::cout << file << ":\n"
                << FormatReport(*c, *result.divergence, (*mmu)->Name());
      ++diverged;
    } else {
      ++agreed;
    }
  }
  std::cout << "shadowdiff: ran " << agreed + diverged << " case"
            << (agreed + diverged == 1 ? "" : "s") << ": " << agreed
            << " agree, " << diverged << " diverge";
  if (unreadable > 0) std::cout << ", " << unreadable << " unreadable";
  std::cout << "\n";
  if (unreadable > 0) return kBadInput;
  return diverged > 0 ? kDiverge : kAgree;
}

int Explain(const Flags& flags) {
  if (flags.paths.size() != 1) return UsageError("explain takes one case file");
  auto mmu = MakeMmu(flags.mmu, flags.inject);
  if (!mmu.ok()) return UsageError(mmu.status().message());
  absl::StatusOr<Case> c = ReadCaseFile(flags.paths[0]);
  if (!c.ok()) {
    std::cerr << "shadowdiff: " << c.status().message() << "\n";
    return kBadInput;
  }
  Normalize(*c);
  Explainer explainer(*c, **mmu, std::cout);
  RunResult result = Runner().Run(*c, **mmu, &explainer);
  std::cout << "MMU counters at the end:\n";
  for (const host::Counter& counter : (*mmu)->Counters()) {
    std::cout << "  " << counter.name << " " << counter.value << "\n";
  }
  if (result.divergence) {
    std::cout << FormatReport(*c, *result.divergence, (*mmu)->Name());
    return kDiverge;
  }
  std::cout << "shadowdiff: the case agrees (" << result.ops_run << " ops)\n";
  return kAgree;
}

int Reduce(const Flags& flags) {
  if (flags.paths.size() != 1 || flags.output.empty()) {
    return UsageError("reduce takes one case file and -o OUT");
  }
  if (auto mmu = MakeMmu(flags.mmu, flags.inject); !mmu.ok()) {
    return UsageError(mmu.status().message());
  }
  absl::StatusOr<Case> c = ReadCaseFile(flags.paths[0]);
  if (!c.ok()) {
    std::cerr << "shadowdiff: " << c.status().message() << "\n";
    return kBadInput;
  }
  Normalize(*c);
  Runner runner;
  auto run = [&](const Case& candidate) -> std::optional<Divergence> {
    auto mmu = MakeMmu(flags.mmu, flags.inject);
    return runner.Run(candidate, **mmu).divergence;
  };
  const std::optional<Divergence> original = run(*c);
  if (!original) {
    std::cerr << "shadowdiff: " << flags.paths[0]
              << " does not diverge: nothing to reduce\n";
    return kBadInput;
  }
  ReduceStats stats;
  const Case reduced = Reducer(run).Reduce(*c, &stats);
  const std::optional<Divergence> d = run(reduced);
  auto mmu = MakeMmu(flags.mmu, flags.inject);
  std::string header = absl::StrFormat(
      "# Reduced by `shadowdiff reduce%s` from %s.\n# %s divergence: %s\n",
      flags.inject.empty() ? "" : " --inject=" + flags.inject, flags.paths[0],
      KindName(d->kind), d->summary);
  if (absl::Status s = WriteCaseFile(flags.output, reduced, header); !s.ok()) {
    std::cerr << "shadowdiff: " << s.message() << "\n";
    return kBadInput;
  }
  std::cout << absl::StrFormat(
      "shadowdiff reduce: %d ops -> %d ops, %d set-up writes -> %d, in %d "
      "runs; still a %s divergence\n%s",
      stats.ops_before, stats.ops_after, stats.setup_writes_before,
      stats.setup_writes_after, stats.runs, KindName(d->kind),
      FormatReport(reduced, *d, (*mmu)->Name()));
  return 0;
}

int Coverage(const Flags& flags) {
  if (auto mmu = MakeMmu(flags.mmu, flags.inject); !mmu.ok()) {
    return UsageError(mmu.status().message());
  }
  absl::StatusOr<std::vector<std::string>> files = ListCaseFiles(flags.paths);
  if (!files.ok()) return UsageError(files.status().message());
  SemanticCoverage coverage;
  int diverged = 0;
  Runner runner;
  for (const std::string& file : *files) {
    absl::StatusOr<Case> c = ReadCaseFile(file);
    if (!c.ok()) continue;  // replay reports unreadable files
    Normalize(*c);
    if (IsEmpty(*c)) continue;
    auto mmu = MakeMmu(flags.mmu, flags.inject);
    diverged +=
        runner.Run(*c, **mmu, &coverage.observer()).divergence.has_value();
    coverage.AddCase(*c, (*mmu)->Counters());
  }
  std::cout << coverage.Summary();
  if (diverged > 0) std::cout << diverged << " of them diverge\n";
  return diverged > 0 ? kDiverge : kAgree;
}

int Convert(const std::vector<std::string>& args) {
  if (args.size() != 2) return UsageError("convert takes IN and OUT");
  absl::StatusOr<Case> c = ReadCaseFile(args[0]);
  if (!c.ok()) {
    std::cerr << "shadowdiff: " << c.status().message() << "\n";
    return kBadInput;
  }
  if (absl::Status s = WriteCaseFile(args[1], *c); !s.ok()) {
    std::cerr << "shadowdiff: " << s.message() << "\n";
    return kBadInput;
  }
  return kAgree;
}

int Main(int argc, char** argv) {
  if (argc < 2) return UsageError("no command given");
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "convert") return Convert(args);
  if (command != "replay" && command != "explain" && command != "reduce" &&
      command != "coverage") {
    return UsageError("unknown command " + command);
  }
  absl::StatusOr<Flags> flags = ParseFlags(args);
  if (!flags.ok()) return UsageError(flags.status().message());
  if (command == "reduce") return Reduce(*flags);
  if (command == "coverage") return Coverage(*flags);
  return command == "replay" ? Replay(*flags) : Explain(*flags);
}

}  // namespace
}  // namespace shadowdiff

int main(int argc, char** argv) { return shadowdiff::Main(argc, argv); }
