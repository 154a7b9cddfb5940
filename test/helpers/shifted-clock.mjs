// Preloaded into a CLI child (`node --import <this file>?ms=N`) by runCli({ clockOffsetMs: N }):
// that process's clock runs N ms ahead of the test's. A test that needs a new `lastmodified`
// (second precision) from the next command runs it a couple of seconds "later" instead of
// sleeping past the second. Only `new Date()` and `Date.now()` move; dates built from a value
// are untouched.
const offsetMs = Number(new URL(import.meta.url).searchParams.get('ms') ?? 0)
const RealDate = Date

class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offsetMs)
    else super(...args)
  }

  static now() {
    return RealDate.now() + offsetMs
  }
}

globalThis.Date = ShiftedDate
