/// Grain's precondition: stops the program with `message` when `condition` is false, in every
/// build configuration.
///
/// The standard library's `precondition` drops its message in optimised builds, which leaves a
/// user of a release build with "Fatal error" and no word on which op or which shapes were wrong.
/// Grain's checks are cheap next to the work they guard, so they always say what failed. This
/// function shadows the standard library's within Grain's modules; it is `package`, so a client of
/// Grain's libraries keeps the standard library's.
@inlinable @inline(__always)
package func precondition(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String = String(),
                         file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { preconditionFailure(message(), file: file, line: line) }
}

/// Stops the program with `message`, in every build configuration (see ``precondition(_:_:file:line:)``).
@inlinable
package func preconditionFailure(_ message: @autoclosure () -> String = String(),
                                file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message(), file: file, line: line)
}
