import Foundation

/// A file of named tensors that can be read one tensor at a time: ``SafeTensors`` and
/// ``PyTorchCheckpoint`` both conform, so weight loading can take either.
///
/// Implementations map the file into memory and convert a tensor to float32 only when it is
/// asked for, so opening a multi-gigabyte checkpoint costs little and peak memory stays near the
/// size of the tensors actually held.
public protocol WeightFile: Sendable {
    /// The path of the file, for messages.
    var path: String { get }
    /// The tensor names, in file order.
    var keys: [String] { get }
    /// The shape of the tensor named `key`.
    ///
    /// - Throws: ``WeightFileError/missingKey(path:key:)`` when there is no such tensor.
    func shape(named key: String) throws -> [Int]
    /// The tensor named `key`, converted to float32.
    ///
    /// - Throws: ``WeightFileError/missingKey(path:key:)`` when there is no such tensor, or the
    ///   error that makes the tensor unreadable.
    func tensor(named key: String) throws -> Tensor
}

extension WeightFile {
    /// Every tensor, converted to float32, in file order (``keys``).
    ///
    /// This holds all of them in memory at once; for large checkpoints prefer iterating ``keys``
    /// and calling ``tensor(named:)`` for each.
    public func tensors() throws -> [(key: String, tensor: Tensor)] {
        try keys.map { ($0, try tensor(named: $0)) }
    }
}

/// Opens `url` as a ``PyTorchCheckpoint`` when it is a zip archive (what `torch.save` writes,
/// whatever the extension: `.pth`, `.pt`, `.ckpt`, `.bin`), as ``SafeTensors`` otherwise.
/// Floating-point tensors holding NaN or ±∞ are refused when read.
///
/// - Throws: the ``WeightFileError`` of the reader chosen;
///   ``WeightFileError/notAWeightFile(path:kind:)`` for a file that is recognisably something
///   else (`"a PNG image"`…).
public func openWeightFile(at url: URL) throws -> any WeightFile {
    try openWeightFile(at: url, acceptingNonFiniteValues: false)
}

/// Opens `url` as ``openWeightFile(at:)`` does.
///
/// - Parameters:
///   - url: the weight file (safetensors or a PyTorch checkpoint).
///   - acceptingNonFiniteValues: when false, reading a floating-point tensor that holds NaN or
///     ±∞ throws ``WeightFileError/nonFiniteValues(path:key:count:firstIndex:)``; true returns the
///     values as stored (for tools that inspect or convert a file as it is).
public func openWeightFile(at url: URL, acceptingNonFiniteValues: Bool) throws -> any WeightFile {
    let file = try MappedFile(url: url)
    if file.littleEndian(UInt32.self, at: 0) == 0x0403_4B50 {  // "PK\u{3}\u{4}"
        return try PyTorchCheckpoint(contentsOf: url, acceptingNonFiniteValues: acceptingNonFiniteValues)
    }
    return try SafeTensors(contentsOf: url, acceptingNonFiniteValues: acceptingNonFiniteValues)
}
