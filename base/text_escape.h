// Text escaping for messages and output files.
//
// Printable(): what an error message may echo of user input. Valid UTF-8 letters pass
// through; control bytes become \n, \r, \t or \xNN; a byte-order mark becomes \uFEFF;
// bytes that are not valid UTF-8 become \xNN; a backslash stays a backslash. The result is
// one printable line whatever the input held.
//
// CsvField(): one field quoted per RFC 4180 section 2 (https://www.rfc-editor.org/rfc/rfc4180):
// a field holding a comma, a double quote, CR or LF (or leading/trailing spaces, which
// some readers trim) is enclosed in double quotes, with each double quote doubled.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace systole {

std::string Printable(std::string_view text);

// always_quote: quote even when not needed (keeps a column's look stable).
std::string CsvField(std::string_view field, bool always_quote = false);

// Splits one CSV text into records of fields per RFC 4180 (quoted fields may hold commas,
// doubled quotes and line breaks). Used to test round trips. Throws InputError on an
// unterminated quoted field.
std::vector<std::vector<std::string>> ParseCsv(std::string_view text);

}  // namespace systole
