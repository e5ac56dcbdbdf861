// Writes the seed corpora for the fuzz targets into `<output>/<target>/`: small valid inputs made
// with Grain's own writers (safetensors, images, detector files, configurations, manifests) and,
// for `.pth`, a minimal torch.save-style archive assembled here. Nothing is read from ../shared.
//
//   fuzz-corpus <output folder>
//
// The executable is linked like the fuzz targets (libFuzzer's main, the same sanitizer flags, so
// one build serves both): the work is done in libFuzzer's LLVMFuzzerInitialize hook, which exits.
import Foundation
import Imaging
import NN
import OneClass
import Pretext
import Tensor

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerInitialize")
public func writeSeedCorpora(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let arguments = (0..<Int(argc.pointee)).map { String(cString: argv.pointee![$0]!) }
    guard arguments.count == 2 else {
        FileHandle.standardError.write(Data("usage: fuzz-corpus <output folder>\n".utf8))
        exit(2)
    }
    writeCorpus(to: URL(fileURLWithPath: arguments[1]))
    exit(0)
}

/// Never called: `writeSeedCorpora` exits first.
@_cdecl("LLVMFuzzerTestOneInput")
public func unusedTestOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt { 0 }

/// Writes every target's seeds below `output`.
func writeCorpus(to output: URL) {
    var written: [String: Int] = [:]

    func folder(_ target: String) -> URL {
        let url = output.appendingPathComponent(target)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func seed(_ target: String, _ name: String, _ data: Data) {
        try! data.write(to: folder(target).appendingPathComponent(name))
        written[target, default: 0] += 1
    }

    var generator = RandomGenerator(seed: 17)
    func randomTensor(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) })
    }

    // MARK: safetensors

    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("grain-fuzz-corpus-\(getpid())")
    try! FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    func viaFile(_ name: String, _ write: (URL) throws -> Void) -> Data {
        let url = scratch.appendingPathComponent(name)
        try! write(url)
        return try! Data(contentsOf: url)
    }

    seed("fuzz-safetensors", "one.safetensors", viaFile("a.safetensors") { try SafeTensors.write(["weight": randomTensor([2, 3])], to: $0) })
    seed("fuzz-safetensors", "several.safetensors", viaFile("b.safetensors") {
        try SafeTensors.write([("conv.weight", randomTensor([2, 1, 3, 3])), ("conv.bias", randomTensor([2])), ("scalar", randomTensor([]))],
                              metadata: ["format": "pt"], to: $0)
    })
    seed("fuzz-safetensors", "float64.safetensors", viaFile("c.safetensors") {
        try SafeTensors.write(entries: [("d", .float64(shape: [2, 2], values: [1, -2, 3.5, 4])), ("f", .float32(randomTensor([3])))], to: $0)
    })
    seed("fuzz-safetensors", "empty.safetensors", viaFile("d.safetensors") { try SafeTensors.write([String: Tensor](), to: $0) })

    // MARK: .pth (zip + pickle), laid out as torch.save writes it

    seed("fuzz-pth", "state_dict.pth", Data(checkpoint(wrapped: false)))
    seed("fuzz-pth", "wrapped.pth", Data(checkpoint(wrapped: true)))

    // MARK: JPEG and PNG

    seed("fuzz-jpeg", "rgb420.jpg", try! gradient(16, 16, channels: 3).encoded(as: .jpeg(quality: 75, subsampling: .ratio420)))
    seed("fuzz-jpeg", "rgb444.jpg", try! gradient(24, 8, channels: 3).encoded(as: .jpeg(quality: 95, subsampling: .ratio444)))
    seed("fuzz-jpeg", "grey.jpg", try! gradient(8, 8, channels: 1).encoded(as: .jpeg(quality: 85)))
    for channels in 1...4 {
        seed("fuzz-png", "channels\(channels).png", try! gradient(12, 7, channels: channels).encoded(as: .png))
    }

    // MARK: Detector file

    let extractor = LowLevelFeatureExtractor()
    let d = LowLevelFeatureExtractor.featureDimension
    let features = Matrix(rows: 12, columns: d, elements: (0..<(12 * d)).map { _ in Double.random(in: -1...1, using: &generator) })
    let mixture = try! GaussianMixture(fitting: features, configuration: .init(componentCount: 2, covarianceType: .diagonal), using: &generator)
    let member = Detector.Member(
        extractor: extractor, mixture: mixture, threshold: -500,
        provenance: .init(weightsFileName: "seed.pth", weightsSHA256: String(repeating: "0", count: 64),
                          parametersSHA256: Detector.parametersDigest(of: extractor)),
        thresholdReport: .init(rule: .authors, rate: 0.05, authorsThreshold: -500, trainingSampleCount: 12))
    seed("fuzz-detector", "diagonal.detector", viaFile("e.detector") { try Detector(members: [member]).save(to: $0) })
    // The same layout a quarter of the size (0.77 MB instead of 3.1 MB): an extractor whose
    // parameters are small integers, stored as int8, which the reader converts like any dtype
    // (the parameters digest is over the converted values, so it matches). Every input of this
    // target is about as large as its seed, and the per-input cost of copying, writing and
    // mapping it dominated.
    let integral = LowLevelFeatureExtractor()
    try! integral.load(integral.stateDictionary().mapValues { tensor in
        Tensor(shape: tensor.shape, scalars: (0..<tensor.count).map { _ in Float(Int.random(in: -2...2, using: &generator)) })
    })
    let compactMember = Detector.Member(
        extractor: integral, mixture: mixture, threshold: -500,
        provenance: .init(weightsFileName: "seed.pth", weightsSHA256: String(repeating: "0", count: 64),
                          parametersSHA256: Detector.parametersDigest(of: integral)),
        thresholdReport: .init(rule: .authors, rate: 0.05, authorsThreshold: -500, trainingSampleCount: 12))
    let float32Detector = viaFile("g.detector") { try Detector(members: [compactMember]).save(to: $0) }
    let compact = int8Extractor(float32Detector, scratch: scratch.appendingPathComponent("h.detector"))
    seed("fuzz-detector", "diagonal-int8.detector", compact)
    let check = scratch.appendingPathComponent("i.detector")
    try! compact.write(to: check)
    _ = try! Detector(contentsOf: check)  // the compact seed is a valid detector file

    // MARK: diffusers config.json

    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    seed("fuzz-diffusers-config", "unet.json", try! encoder.encode(UNet2DConditionConfiguration()))
    seed("fuzz-diffusers-config", "vae.json", try! encoder.encode(AutoencoderKLConfiguration()))
    seed("fuzz-diffusers-config", "vae-small.json", try! encoder.encode(AutoencoderKLConfiguration.small))
    seed("fuzz-diffusers-config", "clip.json", try! encoder.encode(CLIPTextConfiguration()))

    // MARK: Pretext manifest

    let records = [
        PretextRecord(path: "original/a.png", source: "photos/a.jpg", pretextClass: .original, meanAbsoluteError: 0, seed: 1,
                      sha256: String(repeating: "ab", count: 32), crop: 256),
        PretextRecord(path: "level2/a.png", source: "photos/a.jpg", pretextClass: .level2, level: 2, timestep: 200,
                      meanAbsoluteError: 0.031, seed: 2),
    ]
    seed("fuzz-pretext-manifest", "manifest.jsonl", viaFile("f.jsonl") { try PretextManifest(records: records).write(to: $0) })

    for (target, count) in written.sorted(by: { $0.key < $1.key }) { print("\(target): \(count) seeds") }
}

/// The safetensors file `data` (written to `scratch` to be read) with every `*.extractor.*`
/// tensor stored as int8 (its values must be integers in -128…127) and the rest as they are.
func int8Extractor(_ data: Data, scratch: URL) -> Data {
    try! data.write(to: scratch)
    let file = try! SafeTensors(contentsOf: scratch)
    var header: [String: Any] = ["__metadata__": file.metadata]
    var payload: [UInt8] = []
    for key in file.keys {
        let info = try! file.info(named: key)
        let begin = payload.count
        if key.contains(".extractor.") {
            payload += try! file.tensor(named: key).scalars.map { UInt8(bitPattern: Int8(exactly: $0)!) }
            header[key] = ["dtype": "I8", "shape": info.shape, "data_offsets": [begin, payload.count]] as [String: Any]
        } else {
            try! file.withStoredBytes(named: key) { payload += $0 }
            header[key] = ["dtype": info.dtype.safetensorsName, "shape": info.shape, "data_offsets": [begin, payload.count]] as [String: Any]
        }
    }
    var json = [UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    return Data(littleEndian(UInt64(json.count)) + json + payload)
}

func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

/// A stored zip of `entries` (no compression, classic end record).
func storedZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
    var out: [UInt8] = [], central: [UInt8] = []
    for (name, data) in entries {
        let offset = out.count, nameBytes = Array(name.utf8)
        let crc = data.withUnsafeBytes { crc32($0) }
        let common = littleEndian(UInt16(20)) + littleEndian(UInt16(0)) + littleEndian(UInt16(0)) + littleEndian(UInt32(0))
            + littleEndian(crc) + littleEndian(UInt32(data.count)) + littleEndian(UInt32(data.count)) + littleEndian(UInt16(nameBytes.count))
        out += littleEndian(UInt32(0x0403_4B50)) + common + littleEndian(UInt16(0)) + nameBytes + data
        central += littleEndian(UInt32(0x0201_4B50)) + littleEndian(UInt16(20)) + common
            + [UInt8](repeating: 0, count: 12) + littleEndian(UInt32(offset)) + nameBytes
    }
    let directoryOffset = out.count
    out += central
    out += littleEndian(UInt32(0x0605_4B50)) + [0, 0, 0, 0] + littleEndian(UInt16(entries.count)) + littleEndian(UInt16(entries.count))
        + littleEndian(UInt32(central.count)) + littleEndian(UInt32(directoryOffset)) + [0, 0]
    return out
}

func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}

/// Pickle protocol 2 opcodes for a state dict of tensors.
struct Pickle {
    var bytes: [UInt8] = [0x80, 0x02]
    mutating func string(_ text: String) { bytes += [0x58] + littleEndian(UInt32(text.utf8.count)) + Array(text.utf8) }
    mutating func int(_ value: Int) { bytes += [0x4A] + littleEndian(Int32(value)) }
    mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
    mutating func mark() { bytes.append(0x28) }
    mutating func endTuple() { bytes.append(0x74) }
    mutating func tensor(_ storage: String, key: String, count: Int, shape: [Int], strides: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark(); string("storage"); global("torch", storage); string(key); string("cpu"); int(count); endTuple()
        bytes.append(0x51)  // BINPERSID
        int(0)
        mark(); shape.forEach { int($0) }; endTuple()
        mark(); strides.forEach { int($0) }; endTuple()
        bytes.append(0x89)  // False
        global("collections", "OrderedDict"); bytes += [0x29, 0x52]  // () REDUCE
        endTuple()
        bytes.append(0x52)  // REDUCE
    }
}

func checkpoint(wrapped: Bool) -> [UInt8] {
    var p = Pickle()
    if wrapped { p.bytes += [0x7D, 0x28]; p.string("epoch"); p.int(3); p.string("state_dict") }  // {  MARK
    p.global("collections", "OrderedDict"); p.bytes += [0x29, 0x52, 0x71, 0x01, 0x28]  // OrderedDict() BINPUT 1 MARK
    p.string("conv.weight"); p.tensor("FloatStorage", key: "0", count: 6, shape: [2, 3], strides: [3, 1])
    p.string("conv.weight.t"); p.tensor("FloatStorage", key: "0", count: 6, shape: [3, 2], strides: [1, 3])
    p.string("half"); p.tensor("HalfStorage", key: "1", count: 2, shape: [2], strides: [1])
    p.bytes.append(0x75)  // SETITEMS
    if wrapped { p.bytes.append(0x75) }
    p.bytes.append(0x2E)  // STOP
    let floats = (0..<6).flatMap { littleEndian(Float($0).bitPattern) }
    return storedZip([("archive/data.pkl", p.bytes), ("archive/byteorder", Array("little".utf8)),
                      ("archive/data/0", floats), ("archive/data/1", [0x00, 0x3C, 0x00, 0xB8]), ("archive/version", Array("3\n".utf8))])
}

func gradient(_ width: Int, _ height: Int, channels: Int) -> Image {
    var pixels: [UInt8] = []
    for y in 0..<height { for x in 0..<width { for c in 0..<channels { pixels.append(UInt8((x * 16 + y * 8 + c * 40) & 255)) } } }
    return Image(width: width, height: height, channels: channels, pixels: pixels)
}
