"""Pure text functions: boilerplate, Unicode repair, detokenizing, truecasing, language, dates."""
