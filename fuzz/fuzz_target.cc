// mmu_diff_fuzzer: the libFuzzer target. Each input is a case (binary, or
// text for the seed files); it runs on the reference and on the MMU under
// test, and a divergence prints the report and aborts, so libFuzzer keeps the
// input. Configured from the environment (an unknown value exits 2):
//   SHADOWDIFF_MMU=NAME[:SWITCHES]   the MMU under test (default: shadow)
//   SHADOWDIFF_INJECT=SWITCHES       more switches for it (impl: bug names)
//   SHADOWDIFF_HOST_TLB=tagged|untagged
//   SHADOWDIFF_BASELINE_MMU=NAME[:SWITCHES]  count a divergence only if this
//                                    MMU does not share it
//   SHADOWDIFF_KNOWN=FILE            signatures to tolerate (counted)
// The options file beside the fuzzer (NAME.options) gives the libFuzzer
// flags the command line leaves unset.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/fuzzer_options.h"
#include "fuzz/judge.h"
#include "fuzz/known_signatures.h"
#include "fuzz/mutation_record.h"
#include "fuzz/report.h"
#include "fuzz/run_settings.h"
#include "google/protobuf/arena.h"
#include "proto/normalize.h"

namespace {

struct Configuration {
  shadowdiff::RunSettings settings;
  std::optional<shadowdiff::KnownSignatures> known;
  uint64_t unsupported = 0;
  uint64_t in_baseline = 0;
};

Configuration& Config() {
  static auto* config = new Configuration();
  return *config;
}

[[noreturn]] void ConfigError(const std::string& variable,
                              const absl::Status& status) {
  std::fprintf(stderr, "mmu_diff_fuzzer: %s: %s\n", variable.c_str(),
               std::string(status.message()).c_str());
  std::exit(2);
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

void ReadEnvironment() {
  Configuration& config = Config();
  std::string mmu = Env("SHADOWDIFF_MMU");
  if (const std::string inject = Env("SHADOWDIFF_INJECT"); !inject.empty()) {
    mmu = absl::StrCat(mmu, mmu.find(':') == std::string::npos ? ":" : ",",
                       inject);
  }
  absl::StatusOr<shadowdiff::MmuChoice> choice =
      shadowdiff::ParseMmuChoice(mmu);
  if (!choice.ok())
    ConfigError("SHADOWDIFF_MMU/SHADOWDIFF_INJECT", choice.status());
  config.settings.mmu = *choice;
  if (const std::string tlb = Env("SHADOWDIFF_HOST_TLB"); !tlb.empty()) {
    absl::StatusOr<shadowdiff::host::HostTlbTagging> tagging =
        shadowdiff::ParseHostTlb(tlb);
    if (!tagging.ok()) ConfigError("SHADOWDIFF_HOST_TLB", tagging.status());
    config.settings.host_tlb = *tagging;
  }
  if (const std::string oracle = Env("SHADOWDIFF_ORACLE"); !oracle.empty()) {
    absl::StatusOr<shadowdiff::OracleKind> kind =
        shadowdiff::ParseOracle(oracle);
    if (!kind.ok()) ConfigError("SHADOWDIFF_ORACLE", kind.status());
    config.settings.oracle = *kind;
  }
  if (const std::string baseline = Env("SHADOWDIFF_BASELINE_MMU");
      !baseline.empty()) {
    absl::StatusOr<shadowdiff::MmuChoice> b =
        shadowdiff::ParseMmuChoice(baseline);
    if (!b.ok()) ConfigError("SHADOWDIFF_BASELINE_MMU", b.status());
    config.settings.baseline = *b;
  }
  if (const std::string known = Env("SHADOWDIFF_KNOWN"); !known.empty()) {
    absl::StatusOr<shadowdiff::KnownSignatures> k =
        shadowdiff::KnownSignatures::Load(known);
    if (!k.ok()) ConfigError("SHADOWDIFF_KNOWN", k.status());
    config.known = *std::move(k);
  }
}

// What the run tolerated, said once at its end.
void PrintTally() {
  const Configuration& config = Config();
  if (config.known && config.known->matched() > 0) {
    std::fprintf(stderr,
                 "mmu_diff_fuzzer: %llu known divergences tolerated:\n%s",
                 static_cast<unsigned long long>(config.known->matched()),
                 config.known->Tally().c_str());
  }
  if (config.in_baseline > 0) {
    std::fprintf(stderr,
                 "mmu_diff_fuzzer: %llu divergences the baseline %s shares\n",
                 static_cast<unsigned long long>(config.in_baseline),
                 shadowdiff::MmuChoiceText(*config.settings.baseline).c_str());
  }
  if (config.unsupported > 0) {
    std::fprintf(stderr, "mmu_diff_fuzzer: %llu inputs unsupported by %s\n",
                 static_cast<unsigned long long>(config.unsupported),
                 config.settings.mmu.name.c_str());
  }
}

std::string& TextSeedCopies() {
  static auto* directory = new std::string();
  return *directory;
}

void RemoveTextSeedCopies() {
  std::error_code ignored;
  if (!TextSeedCopies().empty()) {
    std::filesystem::remove_all(TextSeedCopies(), ignored);
  }
}

// The options file's flags the user left unset, appended to argv (libFuzzer
// parses its flags after LLVMFuzzerInitialize), so that the fuzzer run by
// hand runs as under make fuzz and ClusterFuzzLite.
void AddDefaultFlags(int* argc, char*** argv) {
  const std::filesystem::path self((*argv)[0]);
  std::ifstream in(self.string() + ".options");
  if (!in) return;
  std::stringstream text;
  text << in.rdbuf();
  const std::vector<std::string> args(*argv, *argv + *argc);
  static std::vector<std::string> added;
  added =
      shadowdiff::DefaultFlags(text.str(), self.parent_path().string(), args);
  // Inputs run one by one are cut to max_len as well: a text case given by
  // name keeps the length it has.
  std::vector<std::string> directories;
  bool single_files = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].empty() || args[i][0] == '-') continue;
    std::error_code ec;
    if (std::filesystem::is_directory(args[i], ec)) {
      directories.push_back(args[i]);
    } else {
      single_files = true;
    }
  }
  const auto max_len = std::find_if(
      added.begin(), added.end(),
      [](const std::string& flag) { return flag.starts_with("-max_len="); });
  if (max_len != added.end()) {
    if (single_files) {
      added.erase(max_len);
    } else if (!directories.empty()) {
      // The text seeds as binary cases, in a corpus directory of their own,
      // removed at exit.
      std::string& copies = TextSeedCopies();
      copies = "/tmp/shadowdiff-text-seeds-XXXXXX";
      const size_t limit = std::stoul(max_len->substr(9));
      if (mkdtemp(copies.data()) == nullptr) {
        copies.clear();
      } else {
        std::atexit(RemoveTextSeedCopies);
        if (shadowdiff::WriteBinaryCopiesOfTextCases(directories, copies,
                                                     limit) > 0) {
          added.push_back(copies);
        }
      }
    }
  }
  if (added.empty()) return;
  static std::vector<char*> new_argv;
  new_argv.assign(*argv, *argv + *argc);
  for (std::string& flag : added) new_argv.push_back(flag.data());
  new_argv.push_back(nullptr);
  *argc = static_cast<int>(new_argv.size()) - 1;
  *argv = new_argv.data();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  ReadEnvironment();
  AddDefaultFlags(argc, argv);
  std::atexit(PrintTally);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  alignas(8) static thread_local char block[shadowdiff::kArenaBlockBytes];
  google::protobuf::Arena arena(shadowdiff::ArenaStartingIn(block));
  auto* c = google::protobuf::Arena::CreateMessage<shadowdiff::Case>(&arena);
  if (!shadowdiff::ParseFuzzInput(data, size, c)) {
    return -1;  // not a case: keep it out of the corpus
  }
  // The environment says how to run, whatever the input records.
  c->clear_run();
  shadowdiff::Normalize(*c);
  if (shadowdiff::IsEmpty(*c)) return 0;
  Configuration& config = Config();
  static thread_local shadowdiff::Judge judge(
      config.settings, config.known ? &*config.known : nullptr);
  const shadowdiff::Verdict verdict = judge.Run(*c);
  switch (verdict.kind) {
    case shadowdiff::Verdict::Kind::kAgree:
    case shadowdiff::Verdict::Kind::kKnown:
      return 0;
    case shadowdiff::Verdict::Kind::kUnsupported:
      ++config.unsupported;
      return -1;  // the MMU cannot run it: not worth keeping
    case shadowdiff::Verdict::Kind::kInBaseline:
      ++config.in_baseline;
      return 0;
    case shadowdiff::Verdict::Kind::kDivergence:
      break;
  }
  const std::string report =
      shadowdiff::FormatReport(*c, *verdict.divergence, config.settings);
  std::fputs(report.c_str(), stderr);
  if (std::optional<std::string> moves =
          shadowdiff::MovesThatMade({data, size})) {
    std::fprintf(stderr, "  made by the mutator's moves: %s\n", moves->c_str());
  }
  // What was tolerated before this finding, since the abort skips atexit.
  PrintTally();
  std::fflush(stderr);
  std::abort();
}
