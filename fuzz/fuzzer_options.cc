#include "fuzz/fuzzer_options.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "fuzz/case_file.h"

namespace shadowdiff {

std::vector<std::string> DefaultFlags(absl::string_view options_text,
                                      absl::string_view binary_dir,
                                      const std::vector<std::string>& argv) {
  std::vector<std::string> flags;
  bool in_libfuzzer = false;
  for (absl::string_view line : absl::StrSplit(options_text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      in_libfuzzer = line == "[libfuzzer]";
      continue;
    }
    const size_t equals = line.find('=');
    if (!in_libfuzzer || equals == absl::string_view::npos) continue;
    const absl::string_view key =
        absl::StripAsciiWhitespace(line.substr(0, equals));
    std::string value(absl::StripAsciiWhitespace(line.substr(equals + 1)));
    const std::string prefix = absl::StrCat("-", key, "=");
    bool given = false;
    for (const std::string& arg : argv)
      given = given || absl::StartsWith(arg, prefix);
    if (given || key.empty()) continue;
    if (key == "dict" && !value.empty() && value[0] != '/') {
      value = absl::StrCat(binary_dir, "/", value);
    }
    flags.push_back(absl::StrCat(prefix, value));
  }
  return flags;
}

int WriteBinaryCopiesOfTextCases(const std::vector<std::string>& directories,
                                 const std::string& out_dir, size_t max_len) {
  namespace fs = std::filesystem;
  int written = 0;
  for (const std::string& directory : directories) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(directory, ec), end;
         !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec) || it->file_size(ec) <= max_len) continue;
      const absl::StatusOr<std::string> bytes =
          ReadBoundedFile(it->path().string());
      if (!bytes.ok() || !LooksLikeText(*bytes)) continue;
      absl::StatusOr<Case> c = ParseTextCase(*bytes, it->path().string());
      std::string binary;
      if (!c.ok() || !c->SerializeToString(&binary) ||
          binary.size() > max_len) {
        continue;
      }
      std::ofstream out(absl::StrCat(out_dir, "/text-case-", written, ".pb"),
                        std::ios::binary);
      out << binary;
      written += out.good();
    }
  }
  return written;
}

}  // namespace shadowdiff
