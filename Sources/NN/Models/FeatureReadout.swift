/// Which output of ``LowLevelFeatureExtractor``'s transformer is an image's 528-d feature.
///
/// The transformer maps the `N` patch descriptors of an image to `N` output tokens. The authors
/// read token 0 (``firstToken``: parity with their code holds only for it, and
/// ``LowLevelFeatureExtractor/features(_:)`` returns it); ``meanOfTokens`` averages all `N`
/// output tokens, so that every patch of a large image contributes to its feature directly, and
/// is the readout of Grain's recommended detector fit (measured in Documentation/Results.md).
/// Both give a `[B, 528]` feature, so the same mixture fits either.
public enum FeatureReadout: String, Codable, CaseIterable, Sendable, CustomStringConvertible {
    /// Token 0 after the transformer (the authors' readout), written `token0`.
    case firstToken = "token0"
    /// The mean over all `N` output tokens after the transformer, written `mean`.
    case meanOfTokens = "mean"

    /// The readout named `name` (its raw value: `token0`, `mean`).
    ///
    /// - Throws: ``FeatureReadoutError/unknownName(_:)`` for any other name.
    public init(named name: String) throws(FeatureReadoutError) {
        guard let readout = FeatureReadout(rawValue: name) else { throw .unknownName(name) }
        self = readout
    }

    /// The name as written on the command line and in files (the raw value).
    public var description: String { rawValue }
}

/// Why a readout name was refused.
public enum FeatureReadoutError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The name is none of ``FeatureReadout``'s.
    case unknownName(String)

    /// One line naming the bad value and the accepted ones.
    public var description: String {
        switch self {
        case let .unknownName(name):
            return "unknown feature readout '\(name)', expected one of: "
                + FeatureReadout.allCases.map(\.rawValue).joined(separator: ", ")
        }
    }
}
