import Testing

extension Tag {
    /// Kill -9 loops, crash tests and the API fuzzer: minutes of the suite, run by `make test` and
    /// skipped by `make test-fast`.
    @Tag public static var slow: Self
}
