#include "fuzz/fuzz_input.h"

#include <string>

#include "google/protobuf/text_format.h"

namespace shadowdiff {

bool ParseFuzzInput(const uint8_t* data, size_t size, Case* c) {
  if (c->ParseFromArray(data, static_cast<int>(size))) return true;
  c->Clear();
  google::protobuf::TextFormat::Parser parser;
  // Text seeds are reviewed files: a parse error there is not the fuzzer's
  // business, and printing it for every mutated input would drown the log.
  parser.RecordErrorsTo(nullptr);
  parser.AllowPartialMessage(true);
  const std::string text(reinterpret_cast<const char*>(data), size);
  return parser.ParseFromString(text, c);
}

}  // namespace shadowdiff
