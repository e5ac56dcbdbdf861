/// The `Pretext` layer of Grain (see Documentation/Architecture.md). It is filled by a later issue;
/// until then it holds nothing that claims to work.
public enum PretextLayer {
    /// The layer's name.
    public static let name = "Pretext"
}
