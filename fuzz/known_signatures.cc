#include "fuzz/known_signatures.h"

#include <fnmatch.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "fuzz/case_file.h"

namespace shadowdiff {

absl::StatusOr<KnownSignatures> KnownSignatures::Load(const std::string& path) {
  absl::StatusOr<std::string> text = ReadBoundedFile(path);
  if (!text.ok()) {
    return absl::Status(
        text.status().code(),
        absl::StrFormat("cannot open the known-signature file: %s",
                        text.status().message()));
  }
  return Parse(*text, path);
}

absl::StatusOr<KnownSignatures> KnownSignatures::Parse(
    absl::string_view text, absl::string_view source) {
  KnownSignatures known;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t hash = line.find('#');
    if (hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) known.patterns_.push_back({std::string(line), 0});
  }
  if (known.patterns_.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: no signature in the known-signature file", source));
  }
  return known;
}

bool KnownSignatures::Matches(absl::string_view signature) {
  const std::string subject(signature);
  for (Pattern& pattern : patterns_) {
    if (fnmatch(pattern.glob.c_str(), subject.c_str(), 0) == 0) {
      ++pattern.matches;
      ++matched_;
      return true;
    }
  }
  return false;
}

std::string KnownSignatures::Tally() const {
  std::string out;
  for (const Pattern& pattern : patterns_) {
    absl::StrAppendFormat(&out, "  %8d  %s\n", pattern.matches, pattern.glob);
  }
  return out;
}

}  // namespace shadowdiff
