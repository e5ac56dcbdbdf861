import Foundation
import Testing
@testable import Tensor
import GrainTestSupport

/// Writes `bytes` to `name` in `folder` and returns its URL.
private func writeFile(_ bytes: [UInt8], named name: String, in folder: URL) throws -> URL {
    let url = folder.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url
}

/// The pickle of `{"state_dict": {...tensors...}, "epoch": 3, "lr": 0.5}` as `torch.save` writes it,
/// over storage "0" (six float32), "1" (two float16), "2" (one int64) and "3" (two bfloat16).
private func wrappedStateDictPickle() -> [UInt8] {
    var p = PickleWriter()
    p.proto(2)
    p.emptyDict(); p.put(0)
    p.mark()
    p.string("state_dict")
    p.global("collections", "OrderedDict"); p.emptyTuple(); p.reduce()
    p.mark()
    p.string("weight"); p.tensor(key: "0", count: 6, shape: [2, 3], strides: [3, 1])
    p.string("weight.t"); p.tensor(key: "0", count: 6, shape: [3, 2], strides: [1, 3])           // transposed view
    p.string("slice"); p.tensor(key: "0", count: 6, offset: 1, shape: [2, 2], strides: [3, 1])   // x[:, 1:]
    p.string("expanded"); p.tensor(key: "0", count: 6, offset: 2, shape: [2, 2], strides: [0, 3]) // broadcast view
    p.string("half"); p.tensor(storageType: "HalfStorage", key: "1", count: 2, shape: [2], strides: [1])
    p.string("steps"); p.tensor(storageType: "LongStorage", key: "2", count: 1, shape: [], strides: [])
    p.string("param")
    p.global("torch._utils", "_rebuild_parameter")
    p.tensor(storageType: "BFloat16Storage", key: "3", count: 2, shape: [2], strides: [1])
    p.newTrue(); p.global("collections", "OrderedDict"); p.emptyTuple(); p.reduce()
    p.op(0x87); p.reduce()  // TUPLE3, REDUCE
    p.setItems()
    p.emptyDict()  // BUILD state: {'_metadata': ...} is dropped
    p.op(0x62)
    p.string("epoch"); p.int(3)
    p.string("lr"); p.op(0x47); p.bytes += withUnsafeBytes(of: (0.5 as Double).bitPattern.bigEndian) { Array($0) }
    p.setItems()
    p.stop()
    return p.bytes
}

private let wrappedStorages: [(String, [UInt8])] = [
    ("0", float32Bytes([0, 1, 2, 3, 4, 5])),
    ("1", [0x00, 0x3C, 0x00, 0xB8]),                                  // 1, -0.5
    ("2", littleEndianBytes(Int64(1234))),
    ("3", [0x80, 0x3F, 0x00, 0x40]),                                  // 1, 2
]

@Suite("PyTorchCheckpoint")
struct PyTorchCheckpointTests {
    @Test func readsAWrappedStateDictWithViewsAndDTypes() throws {
        try withTemporaryFolder { folder in
            let url = try writeFile(makeCheckpoint(pickle: wrappedStateDictPickle(), storages: wrappedStorages), named: "wrapped.pth", in: folder)
            let checkpoint = try PyTorchCheckpoint(contentsOf: url)
            #expect(checkpoint.archiveName == "archive")
            #expect(checkpoint.stateDictPath == ["state_dict"])
            #expect(checkpoint.stateDictPaths == [["state_dict"]])
            #expect(checkpoint.keys == ["weight", "weight.t", "slice", "expanded", "half", "steps", "param"])
            if case .integer(3)? = checkpoint.root["epoch"] {} else { Issue.record("epoch: \(String(describing: checkpoint.root["epoch"]))") }
            if case .float(0.5)? = checkpoint.root["lr"] {} else { Issue.record("lr: \(String(describing: checkpoint.root["lr"]))") }

            #expect(try checkpoint.tensor(named: "weight").scalars == [0, 1, 2, 3, 4, 5])
            #expect(try checkpoint.tensor(named: "weight.t").shape == [3, 2])
            #expect(try checkpoint.tensor(named: "weight.t").scalars == [0, 3, 1, 4, 2, 5])
            #expect(try checkpoint.tensor(named: "slice").scalars == [1, 2, 4, 5])
            #expect(try checkpoint.tensor(named: "expanded").scalars == [2, 5, 2, 5])
            #expect(try checkpoint.tensor(named: "half").scalars == [1, -0.5])
            #expect(try checkpoint.tensor(named: "steps").shape == [])
            #expect(try checkpoint.tensor(named: "steps").item == 1234)
            #expect(try checkpoint.tensor(named: "param").scalars == [1, 2])
            let param = try checkpoint.record(named: "param")
            #expect(param.requiresGradient && param.dtype == .bfloat16 && param.isContiguous)
            #expect(try !checkpoint.record(named: "weight.t").isContiguous)
            #expect(try checkpoint.shape(named: "slice") == [2, 2])
            expectWeightError(.missingKey(path: url.path, key: "epoch")) { _ = try checkpoint.tensor(named: "epoch") }

            // The protocol's default tensors() and selecting another dict.
            #expect(try checkpoint.tensors().count == 7)
            let opened = try openWeightFile(at: url)
            #expect(opened is PyTorchCheckpoint && opened.keys == checkpoint.keys)
            let root = try checkpoint.selecting(stateDictAt: [])
            #expect(root.keys.isEmpty)
            expectWeightError(.missingKey(path: url.path, key: "ema")) { _ = try checkpoint.selecting(stateDictAt: ["ema"]) }
        }
    }

    @Test func bigEndianStoragesAreSwapped() throws {
        try withTemporaryFolder { folder in
            var p = PickleWriter()
            p.proto(2); p.emptyDict(); p.mark()
            p.string("w"); p.tensor(key: "0", count: 2, shape: [2], strides: [1])
            p.string("h"); p.tensor(storageType: "HalfStorage", key: "1", count: 1, shape: [1], strides: [1])
            p.setItems(); p.stop()
            let storages: [(String, [UInt8])] = [("0", [Float(1.5), -2].flatMap { withUnsafeBytes(of: $0.bitPattern.bigEndian) { Array($0) } }),
                            ("1", [0x3C, 0x00])]
            let url = try writeFile(makeCheckpoint(pickle: p.bytes, storages: storages, byteorder: "big"), named: "big.pth", in: folder)
            let checkpoint = try PyTorchCheckpoint(contentsOf: url)
            #expect(!checkpoint.isLittleEndian)
            #expect(try checkpoint.tensor(named: "w").scalars == [1.5, -2])
            #expect(try checkpoint.tensor(named: "h").scalars == [1])
        }
    }

    @Test func protocolFourOpcodesAndTheClassicEndRecord() throws {
        try withTemporaryFolder { folder in
            // {"w": tensor} with FRAME, STACK_GLOBAL, SHORT_BINUNICODE, MEMOIZE and BINGET, in a zip without ZIP64.
            var p = PickleWriter()
            p.proto(4)
            p.op(0x95); p.bytes += littleEndianBytes(UInt64(0))   // FRAME (length unused)
            p.emptyDict(); p.op(0x94)                              // MEMOIZE → 0
            p.shortString("w"); p.op(0x94)                         // → 1
            p.shortString("torch._utils"); p.shortString("_rebuild_tensor_v2"); p.op(0x93); p.op(0x94)  // → 2
            p.mark()
            p.mark(); p.shortString("storage"); p.shortString("torch"); p.shortString("FloatStorage"); p.op(0x93)
            p.shortString("7"); p.shortString("cpu"); p.int(4); p.tuple(); p.op(0x51)
            p.int(0); p.int(2); p.int(2); p.op(0x86); p.int(2); p.int(1); p.op(0x86)
            p.newFalse(); p.shortString("collections"); p.shortString("OrderedDict"); p.op(0x93); p.emptyTuple(); p.reduce()
            p.tuple(); p.reduce()
            p.op(0x73)                                             // SETITEM
            p.get(1); p.op(0x30)                                   // BINGET then POP: the memo works
            p.stop()
            let bytes = makeCheckpoint(name: "some_model", pickle: p.bytes, storages: [("7", float32Bytes([1, 2, 3, 4]))], zip64: false)
            let url = try writeFile(bytes, named: "p4.pt", in: folder)
            let checkpoint = try PyTorchCheckpoint(contentsOf: url)
            #expect(checkpoint.archiveName == "some_model")
            #expect(checkpoint.keys == ["w"])
            #expect(try checkpoint.tensor(named: "w").scalars == [1, 2, 3, 4])
        }
    }

    @Test func containersScalarsAndTensorsOutsideTheStateDict() throws {
        try withTemporaryFolder { folder in
            var p = PickleWriter()
            p.proto(4); p.emptyDict(); p.mark()
            p.string("w"); p.tensor(key: "0", count: 2, shape: [2], strides: [1])
            p.string("set"); p.op(0x8F); p.mark(); p.int(1); p.int(2); p.op(0x90)             // EMPTY_SET, ADDITEMS
            p.string("list"); p.op(0x5D); p.mark(); p.int(1); p.op(0x4E); p.op(0x65)          // EMPTY_LIST, APPENDS
            p.string("marked"); p.mark(); p.int(7); p.op(0x6C)                                // LIST
            p.string("dict"); p.mark(); p.string("k"); p.newTrue(); p.op(0x64)               // DICT
            p.string("big"); p.bytes += [0x8A, 6, 0, 0, 0, 0, 0, 1]                             // LONG1 2^40
            p.string("neg"); p.bytes += [0x8A, 1, 0xFB]                                         // LONG1 -5
            p.string("wide"); p.bytes += [0x8A, 9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]  // -1 in 9 bytes
            p.string("raw"); p.bytes += [0x43, 2, 0x61, 0x62]                                  // SHORT_BINBYTES
            p.string("encoded"); p.global("_codecs", "encode"); p.string("\u{e9}"); p.string("latin1"); p.op(0x86); p.reduce()
            p.string("long"); p.op(0x8D); p.bytes += littleEndianBytes(UInt64(3)) + Array("hé".utf8)       // BINUNICODE8
            p.string("optimizer"); p.op(0x5D); p.tensor(key: "1", count: 1, shape: [], strides: []); p.op(0x61)  // APPEND
            p.setItems(); p.stop()
            let url = try writeFile(makeCheckpoint(pickle: p.bytes, storages: [("0", float32Bytes([1, 2])), ("1", float32Bytes([5]))]),
                                    named: "extras.pth", in: folder)
            let checkpoint = try PyTorchCheckpoint(contentsOf: url)
            #expect(checkpoint.keys == ["w"])
            let root = checkpoint.root
            if case .set(let items)? = root["set"], items.count == 2 {} else { Issue.record("set: \(String(describing: root["set"]))") }
            if case .list(let items)? = root["list"], case .integer(1) = items[0], case .none = items[1] {} else { Issue.record("list") }
            if case .list(let items)? = root["marked"], case .integer(7) = items[0] {} else { Issue.record("marked") }
            if case .bool(true)? = root["dict"]?["k"] {} else { Issue.record("dict") }
            if case .integer(1 << 40)? = root["big"] {} else { Issue.record("big: \(String(describing: root["big"]))") }
            if case .integer(-5)? = root["neg"] {} else { Issue.record("neg: \(String(describing: root["neg"]))") }
            if case .integer(-1)? = root["wide"] {} else { Issue.record("wide: \(String(describing: root["wide"]))") }
            if case .bytes([0x61, 0x62])? = root["raw"] {} else { Issue.record("raw") }
            if case .bytes([0xE9])? = root["encoded"] {} else { Issue.record("encoded: \(String(describing: root["encoded"]))") }
            if case .string("hé")? = root["long"] {} else { Issue.record("long: \(String(describing: root["long"]))") }
            guard case .list(let optimizer)? = root["optimizer"], case .tensor(let record)? = optimizer.first else {
                Issue.record("optimizer: \(String(describing: root["optimizer"]))")
                return
            }
            #expect(try checkpoint.tensor(record).item == 5)
        }
    }

    // MARK: Refusing to execute

    @Test func forbiddenGlobalsAreRefusedByName() throws {
        try withTemporaryFolder { folder in
            // cos\nsystem\n(S'echo pwned' tR. — what a malicious checkpoint looks like.
            var system = PickleWriter()
            system.proto(2); system.global("os", "system"); system.mark(); system.string("echo pwned"); system.tuple(); system.reduce(); system.stop()
            let systemURL = try writeFile(makeCheckpoint(pickle: system.bytes, storages: []), named: "system.pth", in: folder)
            expectWeightError(.forbiddenGlobal(path: systemURL.path, name: "os.system")) { _ = try PyTorchCheckpoint(contentsOf: systemURL) }

            var eval = PickleWriter()
            eval.proto(4); eval.shortString("builtins"); eval.shortString("eval"); eval.op(0x93)
            eval.shortString("__import__('os')"); eval.op(0x85); eval.reduce(); eval.stop()
            let evalURL = try writeFile(makeCheckpoint(pickle: eval.bytes, storages: []), named: "eval.pth", in: folder)
            expectWeightError(.forbiddenGlobal(path: evalURL.path, name: "builtins.eval")) { _ = try PyTorchCheckpoint(contentsOf: evalURL) }

            var python2 = PickleWriter()
            python2.proto(2); python2.global("__builtin__", "getattr"); python2.stop()
            let python2URL = try writeFile(makeCheckpoint(pickle: python2.bytes, storages: []), named: "getattr.pth", in: folder)
            expectWeightError(.forbiddenGlobal(path: python2URL.path, name: "builtins.getattr")) { _ = try PyTorchCheckpoint(contentsOf: python2URL) }

            // A storage class may be named but not called.
            var callStorage = PickleWriter()
            callStorage.proto(2); callStorage.global("torch", "FloatStorage"); callStorage.emptyTuple(); callStorage.reduce(); callStorage.stop()
            let callURL = try writeFile(makeCheckpoint(pickle: callStorage.bytes, storages: []), named: "call.pth", in: folder)
            expectWeightError(path: callURL.path, { if case .invalidPickle(_, let reason) = $0 { reason.contains("torch.FloatStorage cannot be called") } else { false } }) {
                _ = try PyTorchCheckpoint(contentsOf: callURL)
            }
        }
    }

    @Test func permittedOpaqueGlobalsBecomeInertObjects() throws {
        try withTemporaryFolder { folder in
            var p = PickleWriter()
            p.proto(2); p.emptyDict(); p.mark()
            p.string("w"); p.tensor(key: "0", count: 1, shape: [1], strides: [1])
            p.string("callbacks"); p.global("lightning.callbacks", "ModelCheckpoint"); p.mark(); p.int(5); p.tuple(); p.reduce()
            p.emptyDict(); p.string("monitor"); p.string("loss"); p.op(0x73); p.op(0x62)   // BUILD with a state dict
            p.setItems(); p.stop()
            let url = try writeFile(makeCheckpoint(pickle: p.bytes, storages: [("0", float32Bytes([9]))]), named: "lightning.ckpt", in: folder)
            expectWeightError(.forbiddenGlobal(path: url.path, name: "lightning.callbacks.ModelCheckpoint")) { _ = try PyTorchCheckpoint(contentsOf: url) }
            let checkpoint = try PyTorchCheckpoint(contentsOf: url, permittingOpaqueGlobals: ["lightning.callbacks.ModelCheckpoint"])
            #expect(checkpoint.keys == ["w"])
            guard case .object(let typeName, let arguments, let state)? = checkpoint.root["callbacks"] else {
                Issue.record("callbacks: \(String(describing: checkpoint.root["callbacks"]))")
                return
            }
            #expect(typeName == "lightning.callbacks.ModelCheckpoint")
            if case .integer(5) = arguments.first {} else { Issue.record("arguments: \(arguments)") }
            if case .string("loss")? = state?["monitor"] {} else { Issue.record("state: \(String(describing: state))") }
        }
    }

    @Test func unsupportedOpcodesAndMalformedPicklesAreReported() throws {
        try withTemporaryFolder { folder in
            var inst = PickleWriter()
            inst.proto(2); inst.mark(); inst.op(0x69); inst.bytes += Array("os\nsystem\n".utf8); inst.stop()  // INST
            let instURL = try writeFile(makeCheckpoint(pickle: inst.bytes, storages: []), named: "inst.pth", in: folder)
            expectWeightError(.unsupportedPickleOpcode(path: instURL.path, opcode: 0x69, position: 3)) { _ = try PyTorchCheckpoint(contentsOf: instURL) }

            var underflow = PickleWriter()
            underflow.proto(2); underflow.op(0x85); underflow.stop()  // TUPLE1 on an empty stack
            let underflowURL = try writeFile(makeCheckpoint(pickle: underflow.bytes, storages: []), named: "underflow.pth", in: folder)
            expectWeightError(path: underflowURL.path, { if case .invalidPickle = $0 { true } else { false } }) {
                _ = try PyTorchCheckpoint(contentsOf: underflowURL)
            }

            var unterminated = PickleWriter()
            unterminated.proto(2); unterminated.string("abc")  // no STOP
            let unterminatedURL = try writeFile(makeCheckpoint(pickle: unterminated.bytes, storages: []), named: "no-stop.pth", in: folder)
            expectWeightError(path: unterminatedURL.path, { if case .invalidPickle(_, let reason) = $0 { reason.contains("ends before its STOP") } else { false } }) {
                _ = try PyTorchCheckpoint(contentsOf: unterminatedURL)
            }

            var list = PickleWriter()
            list.proto(2); list.op(0x5D); list.stop()  // a list, not a dict
            let listURL = try writeFile(makeCheckpoint(pickle: list.bytes, storages: []), named: "list.pth", in: folder)
            expectWeightError(.invalidPickle(path: listURL.path, reason: "the checkpoint holds a list, not a dict of tensors")) {
                _ = try PyTorchCheckpoint(contentsOf: listURL)
            }
        }
    }

    @Test func tensorsReachingOutsideTheirStorageAreRejected() throws {
        try withTemporaryFolder { folder in
            var p = PickleWriter()
            p.proto(2); p.emptyDict(); p.mark()
            p.string("w"); p.tensor(key: "0", count: 4, offset: 1, shape: [2, 2], strides: [2, 1])  // needs element 4 of 4
            p.setItems(); p.stop()
            let url = try writeFile(makeCheckpoint(pickle: p.bytes, storages: [("0", float32Bytes([1, 2, 3, 4]))]), named: "reach.pth", in: folder)
            expectWeightError(path: url.path, { if case .invalidTensor(_, "w", let reason) = $0 { reason.contains("reaches element 4") } else { false } }) {
                _ = try PyTorchCheckpoint(contentsOf: url)
            }
            let short = try writeFile(makeCheckpoint(pickle: p.bytes, storages: [("0", float32Bytes([1, 2, 3]))]), named: "short.pth", in: folder)
            expectWeightError(path: short.path, { if case .invalidTensor(_, "w", let reason) = $0 { reason.contains("holds 12 bytes") } else { false } }) {
                _ = try PyTorchCheckpoint(contentsOf: short)
            }
            let missing = try writeFile(makeCheckpoint(pickle: p.bytes, storages: []), named: "missing.pth", in: folder)
            expectWeightError(path: missing.path, { if case .invalidTensor(_, "w", let reason) = $0 { reason.contains("archive/data/0") } else { false } }) {
                _ = try PyTorchCheckpoint(contentsOf: missing)
            }
        }
    }

    // MARK: Broken archives

    @Test func corruptedZipsAreReportedAsBadZip() throws {
        try withTemporaryFolder { folder in
            var p = PickleWriter()
            p.proto(2); p.emptyDict(); p.mark(); p.string("w"); p.tensor(key: "0", count: 1, shape: [1], strides: [1]); p.setItems(); p.stop()
            let storages = [("0", float32Bytes([1]))]
            let good = makeCheckpoint(pickle: p.bytes, storages: storages, zip64: false)
            #expect(try PyTorchCheckpoint(contentsOf: try writeFile(good, named: "good.pth", in: folder)).keys == ["w"])
            func isBadZip(_ error: WeightFileError) -> Bool { if case .badZip = error { true } else { false } }

            // The central directory starts right after the last entry's data; break its first signature.
            let directoryOffset = Int(good.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: good.count - 6, as: UInt32.self) })
            var corrupted = good
            corrupted[directoryOffset] ^= 0xFF
            let corruptedURL = try writeFile(corrupted, named: "corrupted-directory.pth", in: folder)
            expectWeightError(path: corruptedURL.path, isBadZip) { _ = try PyTorchCheckpoint(contentsOf: corruptedURL) }

            // The end record points the directory past the end of the file.
            var pastEnd = good
            pastEnd.replaceSubrange((good.count - 6)..<(good.count - 2), with: littleEndianBytes(UInt32(good.count + 100)))
            let pastEndURL = try writeFile(pastEnd, named: "directory-past-end.pth", in: folder)
            expectWeightError(path: pastEndURL.path, isBadZip) { _ = try PyTorchCheckpoint(contentsOf: pastEndURL) }

            // An entry claims more bytes than the file has.
            var entryPastEnd = good
            let firstSizeField = directoryOffset + 20
            entryPastEnd.replaceSubrange(firstSizeField..<(firstSizeField + 8), with: littleEndianBytes(UInt32(1 << 30)) + littleEndianBytes(UInt32(1 << 30)))
            let entryURL = try writeFile(entryPastEnd, named: "entry-past-end.pth", in: folder)
            expectWeightError(path: entryURL.path, isBadZip) { _ = try PyTorchCheckpoint(contentsOf: entryURL) }

            // A flipped byte inside data.pkl fails its CRC-32.
            var flipped = good
            flipped[30 + "archive/data.pkl".utf8.count + 4] ^= 0x01
            let flippedURL = try writeFile(flipped, named: "crc.pth", in: folder)
            expectWeightError(path: flippedURL.path, isBadZip) { _ = try PyTorchCheckpoint(contentsOf: flippedURL) }

            // Truncation loses the end record; a non-zip file has none.
            let truncatedURL = try writeFile(Array(good[0..<(good.count - 10)]), named: "truncated.pth", in: folder)
            expectWeightError(path: truncatedURL.path, isBadZip) { _ = try PyTorchCheckpoint(contentsOf: truncatedURL) }
            let legacyURL = try writeFile([0x80, 0x02, 0x8A, 0x0A] + Array(repeating: 0, count: 40), named: "legacy.pth", in: folder)
            expectWeightError(path: legacyURL.path, isBadZip) { _ = try PyTorchCheckpoint(contentsOf: legacyURL) }

            // A zip without data.pkl is not a checkpoint; a deflated entry is refused clearly.
            let noPickleURL = try writeFile(makeZip([("a/readme.txt", Array("hi".utf8))]), named: "no-pickle.pth", in: folder)
            expectWeightError(path: noPickleURL.path, isBadZip) { _ = try PyTorchCheckpoint(contentsOf: noPickleURL) }
            let deflated = makeZip([("archive/data.pkl", p.bytes)], method: 8)
            let deflatedURL = try writeFile(deflated, named: "deflated.pth", in: folder)
            expectWeightError(.unsupportedCompression(path: deflatedURL.path, entry: "archive/data.pkl", method: 8)) {
                _ = try PyTorchCheckpoint(contentsOf: deflatedURL)
            }
        }
    }

    @Test func stridedGatherMatchesNaiveIndexing() {
        // A [2, 3, 4] view with strides [1, 8, 2] over 24 elements (a permuted, gapped layout).
        let source = (0..<24).map(Float.init)
        let shape = [2, 3, 4], strides = [1, 8, 2]
        var gathered = [Float](repeating: -1, count: 24)
        source.withUnsafeBufferPointer { s in
            gathered.withUnsafeMutableBufferPointer { PyTorchCheckpoint.gather(s.baseAddress!, shape: shape, strides: strides, into: $0.baseAddress!) }
        }
        var expected: [Float] = []
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { expected.append(source[i * 1 + j * 8 + k * 2]) } } }
        #expect(gathered == expected)
    }

    // MARK: The authors' checkpoints

    /// The authors' `.pth` files load bit-identical to their safetensors copies: same keys, same
    /// shapes, the same float bits.
    @Test(.enabled(if: authorsWeightsAvailable, "the authors' checkpoints are not in ../shared/weights/beyond-generation"),
          arguments: ["basic", "ft_genimage", "ft_drct2m"])
    func authorsCheckpointsMatchTheirSafetensorsCopies(name: String) throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: authorsWeightsFolder.appendingPathComponent("\(name).pth"))
        let reference = try SafeTensors(contentsOf: authorsWeightsFolder.appendingPathComponent("\(name).safetensors"))
        #expect(checkpoint.archiveName == name)
        #expect(checkpoint.stateDictPath == [])
        #expect(checkpoint.keys.count == 69)
        #expect(checkpoint.keys.first == "transformer.layers.0.0.norm.weight")
        #expect(checkpoint.keys.sorted() == reference.keys.sorted())
        var parameters = 0
        for key in checkpoint.keys {
            let tensor = try checkpoint.tensor(named: key)
            let expected = try reference.tensor(named: key)
            #expect(tensor.shape == expected.shape, "\(key)")
            #expect(bitPatterns(tensor) == bitPatterns(expected), "\(key)")
            parameters += tensor.count
        }
        #expect(parameters == 762_821)
        #expect(try checkpoint.shape(named: "group1.hpf.weight") == [30, 1, 5, 5])
    }
}
