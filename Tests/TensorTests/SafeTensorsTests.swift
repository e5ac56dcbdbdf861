import Foundation
import Testing
@testable import Tensor
import GrainTestSupport

/// A safetensors file from a raw header string and data bytes (the header is used verbatim).
private func makeSafeTensors(header: String, data: [UInt8]) -> [UInt8] {
    let headerBytes = Array(header.utf8)
    return littleEndianBytes(UInt64(headerBytes.count)) + headerBytes + data
}

/// Writes `bytes` to `name` in `folder` and returns its URL.
private func writeFile(_ bytes: [UInt8], named name: String, in folder: URL) throws -> URL {
    let url = folder.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url
}

@Suite("SafeTensors")
struct SafeTensorsTests {
    @Test func writeThenReadRoundTripsBitsShapesAndMetadata() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("model.safetensors")
            let weight = randomTensor([3, 4], seed: 7)
            let special = Tensor([.nan, .infinity, -0.0, .leastNonzeroMagnitude, -.greatestFiniteMagnitude])
            let scalar = Tensor(2.5)
            let empty = Tensor(shape: [0, 3], scalars: [])
            try SafeTensors.write([("weight", weight), ("b.special", special), ("a.scalar", scalar), ("empty", empty)],
                                  metadata: ["format": "pt", "note": "quote \" and \n newline"], to: url)

            let file = try SafeTensors(contentsOf: url, acceptingNonFiniteValues: true)  // holds ±∞/NaN on purpose
            #expect(file.keys == ["a.scalar", "b.special", "empty", "weight"])  // sorted, as the Python library writes
            #expect(file.metadata == ["format": "pt", "note": "quote \" and \n newline"])
            #expect(file.dataStart % 8 == 0)
            #expect(try file.info(named: "weight") == .init(dtype: .float32, shape: [3, 4], dataOffsets: 24..<72))
            #expect(try file.shape(named: "empty") == [0, 3])
            #expect(bitPatterns(try file.tensor(named: "weight")) == bitPatterns(weight))
            #expect(bitPatterns(try file.tensor(named: "b.special")) == bitPatterns(special))
            #expect(try file.tensor(named: "a.scalar").shape == [])
            #expect(try file.tensor(named: "a.scalar").item == 2.5)
            #expect(try file.tensor(named: "empty").count == 0)
            #expect(try file.withStoredBytes(named: "weight") { $0.count } == 48)
            let all = try file.tensors()
            #expect(all.map(\.key) == file.keys)
            let opened = try openWeightFile(at: url)
            #expect(opened is SafeTensors && opened.keys == file.keys)
        }
    }

    @Test func float64EntriesRoundTripExactlyBesideFloat32Ones() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("mixed.safetensors")
            let doubles: [Double] = [0.1, -1e-300, .pi, 1.0 / 3.0, .greatestFiniteMagnitude, -0.0]
            // A 3-element float32 tensor first puts the float64 data at a 12-byte (unaligned) offset.
            try SafeTensors.write(entries: [("b.doubles", .float64(shape: [2, 3], values: doubles)),
                                            ("a.floats", .float32(Tensor([1, 2, 3])))], to: url)
            let file = try SafeTensors(contentsOf: url, acceptingNonFiniteValues: true)  // holds ±∞/NaN on purpose
            #expect(try file.info(named: "b.doubles") == .init(dtype: .float64, shape: [2, 3], dataOffsets: 12..<60))
            #expect(try file.doubles(named: "b.doubles").map(\.bitPattern) == doubles.map(\.bitPattern))
            #expect(try file.doubles(named: "a.floats") == [1, 2, 3])
            #expect(try file.tensor(named: "b.doubles").scalars == doubles.map(Float.init))
            #expect(throws: WeightFileError.self) {
                try SafeTensors.write(entries: [("bad", .float64(shape: [2], values: [1]))], to: url)
            }
        }
    }

    @Test func headerMatchesThePythonLibraryLayout() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("small.safetensors")
            try SafeTensors.write(["b": Tensor([1, 2]), "a": Tensor(shape: [1, 1], scalars: [3])], metadata: ["k": "v"], to: url)
            let bytes = try [UInt8](Data(contentsOf: url))
            // safetensors.torch.save_file({"b": ..., "a": ...}, metadata={"k": "v"}) writes exactly this header.
            let expected = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
            var header = Array(expected.utf8)
            header += repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
            #expect(Array(bytes[0..<8]) == littleEndianBytes(UInt64(header.count)))
            #expect(Array(bytes[8..<(8 + header.count)]) == header)
            #expect(Array(bytes[(8 + header.count)...]) == float32Bytes([3, 1, 2]))
        }
    }

    @Test func writerRejectsDuplicateAndReservedNamesWithoutTouchingTheDestination() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("keep.safetensors")
            try SafeTensors.write(["x": Tensor([1])], to: url)
            let before = try Data(contentsOf: url)
            expectWeightError(.duplicateKey(path: url.path, key: "x")) {
                try SafeTensors.write([("x", Tensor([2])), ("x", Tensor([3]))], to: url)
            }
            expectWeightError(path: url.path, { if case .writeFailed = $0 { true } else { false } }) {
                try SafeTensors.write([("__metadata__", Tensor([2]))], to: url)
            }
            #expect(try Data(contentsOf: url) == before)
            let missingFolder = folder.appendingPathComponent("absent/out.safetensors")
            expectWeightError(path: missingFolder.path, { if case .writeFailed = $0 { true } else { false } }) {
                try SafeTensors.write(["x": Tensor([1])], to: missingFolder)
            }
            // Replacing works, and no temporary file is left behind.
            try SafeTensors.write(["y": Tensor([4, 5])], to: url)
            #expect(try SafeTensors(contentsOf: url).keys == ["y"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["keep.safetensors"])
        }
    }

    @Test func readsEveryDTypeAsFloat32() throws {
        try withTemporaryFolder { folder in
            var header: [String] = []
            var data: [UInt8] = []
            func add(_ name: String, _ dtype: String, _ shape: [Int], _ bytes: [UInt8]) {
                header.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
                data += bytes
            }
            add("f16", "F16", [4], [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0x00, 0x7C])         // 1, -2, 2^-24, +inf
            add("bf16", "BF16", [2], [0x80, 0x3F, 0x49, 0x40])                              // 1, 3.140625
            add("f64", "F64", [1], littleEndianBytes((0.1 as Double).bitPattern))
            add("i64", "I64", [2], littleEndianBytes(Int64(-3)) + littleEndianBytes(Int64(1) << 40))
            add("i32", "I32", [1], littleEndianBytes(Int32(-7)))
            add("i16", "I16", [1], littleEndianBytes(Int16(-300)))
            add("i8", "I8", [2], [0xFF, 0x7F])
            add("u8", "U8", [2], [0, 255])
            add("bool", "BOOL", [3], [0, 1, 2])
            add("u16", "U16", [1], littleEndianBytes(UInt16(65535)))
            add("e4m3", "F8_E4M3", [3], [0x38, 0xC0, 0x7F])                                 // 1, -2, NaN
            add("e5m2", "F8_E5M2", [2], [0x3C, 0x7C])                                       // 1, +inf
            add("s", "F32", [], float32Bytes([42]))
            let url = try writeFile(makeSafeTensors(header: "{\(header.joined(separator: ","))}", data: data),
                                    named: "dtypes.safetensors", in: folder)
            let file = try SafeTensors(contentsOf: url, acceptingNonFiniteValues: true)  // holds ±∞/NaN on purpose
            #expect(file.keys.first == "f16")  // header order, not sorted
            #expect(try file.info(named: "bf16").dtype == .bfloat16)
            #expect(try file.tensor(named: "f16").scalars == [1, -2, 0x1p-24, .infinity])
            #expect(try file.tensor(named: "bf16").scalars == [1, 3.140625])
            #expect(try file.tensor(named: "f64").scalars == [Float(0.1 as Double)])
            #expect(try file.tensor(named: "i64").scalars == [-3, 0x1p40])
            #expect(try file.tensor(named: "i32").scalars == [-7])
            #expect(try file.tensor(named: "i16").scalars == [-300])
            #expect(try file.tensor(named: "i8").scalars == [-1, 127])
            #expect(try file.tensor(named: "u8").scalars == [0, 255])
            #expect(try file.tensor(named: "bool").scalars == [0, 1, 1])
            #expect(try file.tensor(named: "u16").scalars == [65535])
            let e4m3 = try file.tensor(named: "e4m3").scalars
            #expect(e4m3[0] == 1 && e4m3[1] == -2 && e4m3[2].isNaN)
            #expect(try file.tensor(named: "e5m2").scalars == [1, .infinity])
            #expect(try file.tensor(named: "s").shape == [])
            #expect(try file.tensor(named: "s").item == 42)
        }
    }

    @Test func halfConversionMatchesFloat16ForEveryBitPattern() {
        for bits in 0...UInt16.max {
            let reference = Float(Float16(bitPattern: bits))
            let converted = WeightDType.floatFromHalf(bits)
            if reference.isNaN {
                #expect(converted.isNaN, "half 0x\(String(bits, radix: 16))")
            } else if converted.bitPattern != reference.bitPattern {
                Issue.record("half 0x\(String(bits, radix: 16)): \(converted) vs \(reference)")
                return
            }
        }
    }

    @Test func bulkConversionMatchesTheElementReference() {
        var generator = RandomGenerator(seed: 3)
        // 512 KiB: one-byte types exceed the parallel threshold (2 × 2^18 elements), wider ones do not.
        let words = (0..<(1 << 16)).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) }
        words.withUnsafeBytes { raw in
            for dtype in WeightDType.allCases {
                for littleEndian in [true, false] {
                    let n = raw.count / dtype.byteSize
                    var out = [Float](repeating: 0, count: n)
                    out.withUnsafeMutableBufferPointer { dtype.convert(from: raw.baseAddress!, count: n, littleEndian: littleEndian, to: $0.baseAddress!) }
                    var mismatches = 0
                    for i in stride(from: 0, to: n, by: 97) {
                        let expected = dtype.element(at: raw.baseAddress! + i * dtype.byteSize, littleEndian: littleEndian)
                        if expected.bitPattern != out[i].bitPattern && !(expected.isNaN && out[i].isNaN) { mismatches += 1 }
                    }
                    #expect(mismatches == 0, "\(dtype) littleEndian=\(littleEndian)")
                }
            }
        }
    }

    // MARK: Malformed files

    @Test func malformedFilesThrowTheSpecificErrorNamingTheFile() throws {
        try withTemporaryFolder { folder in
            func file(_ name: String, _ bytes: [UInt8]) throws -> URL { try writeFile(bytes, named: name, in: folder) }
            let good = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

            let truncated = try file("truncated.safetensors", [1, 0, 0])
            expectWeightError(.truncated(path: truncated.path, needed: 8, available: 3)) { _ = try SafeTensors(contentsOf: truncated) }

            let pastEnd = try file("past-end.safetensors", littleEndianBytes(UInt64(1000)) + Array("{}".utf8))
            expectWeightError(.headerPastEnd(path: pastEnd.path, headerLength: 1000, fileSize: 10)) { _ = try SafeTensors(contentsOf: pastEnd) }

            let huge = try file("huge.safetensors", littleEndianBytes(UInt64(1) << 40) + Array("{}".utf8))
            expectWeightError(.headerTooLarge(path: huge.path, headerLength: 1 << 40, limit: SafeTensors.maximumHeaderLength)) {
                _ = try SafeTensors(contentsOf: huge)
            }

            let badJSON = try file("bad-json.safetensors", makeSafeTensors(header: #"{"a": {"dtype": "F32",}"#, data: []))
            expectWeightError(path: badJSON.path, { if case .invalidHeader = $0 { true } else { false } }) {
                _ = try SafeTensors(contentsOf: badJSON)
            }
            let notObject = try file("array.safetensors", makeSafeTensors(header: "[1, 2]", data: []))
            expectWeightError(.invalidHeader(path: notObject.path, reason: "the header does not start with '{'")) {
                _ = try SafeTensors(contentsOf: notObject)
            }
            let missingField = try file("missing-field.safetensors", makeSafeTensors(header: #"{"a":{"dtype":"F32","shape":[2]}}"#, data: float32Bytes([1, 2])))
            expectWeightError(.invalidHeader(path: missingField.path, reason: "tensor 'a': missing 'data_offsets'")) {
                _ = try SafeTensors(contentsOf: missingField)
            }
            let badMetadata = try file("bad-metadata.safetensors", makeSafeTensors(header: #"{"__metadata__":{"n":1}}"#, data: []))
            expectWeightError(.invalidHeader(path: badMetadata.path, reason: "__metadata__ entry 'n' is a number, not a string")) {
                _ = try SafeTensors(contentsOf: badMetadata)
            }

            let unknown = try file("unknown-dtype.safetensors", makeSafeTensors(header: #"{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#, data: Array(repeating: 0, count: 16)))
            expectWeightError(.unknownDType(path: unknown.path, key: "a", dtype: "F128")) { _ = try SafeTensors(contentsOf: unknown) }

            let outOfRange = try file("out-of-range.safetensors", makeSafeTensors(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: float32Bytes([1, 2])))
            expectWeightError(.offsetsOutOfRange(path: outOfRange.path, key: "a", begin: 0, end: 16, dataSize: 8)) {
                _ = try SafeTensors(contentsOf: outOfRange)
            }
            let reversed = try file("reversed.safetensors", makeSafeTensors(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: float32Bytes([1, 2])))
            expectWeightError(.offsetsOutOfRange(path: reversed.path, key: "a", begin: 8, end: 0, dataSize: 8)) {
                _ = try SafeTensors(contentsOf: reversed)
            }

            let overlapping = try file("overlap.safetensors", makeSafeTensors(
                header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                data: float32Bytes([1, 2, 3])))
            expectWeightError(.overlappingOffsets(path: overlapping.path, key: "b", otherKey: "a")) { _ = try SafeTensors(contentsOf: overlapping) }

            let gap = try file("gap.safetensors", makeSafeTensors(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: float32Bytes([1, 2])))
            expectWeightError(.uncoveredData(path: gap.path, begin: 0, end: 4)) { _ = try SafeTensors(contentsOf: gap) }
            let trailing = try file("trailing.safetensors", makeSafeTensors(header: good, data: float32Bytes([1, 2, 3])))
            expectWeightError(.uncoveredData(path: trailing.path, begin: 8, end: 12)) { _ = try SafeTensors(contentsOf: trailing) }

            let wrongSize = try file("wrong-size.safetensors", makeSafeTensors(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: float32Bytes([1, 2])))
            expectWeightError(.sizeMismatch(path: wrongSize.path, key: "a", expected: 12, actual: 8)) { _ = try SafeTensors(contentsOf: wrongSize) }

            let duplicate = try file("duplicate.safetensors", makeSafeTensors(
                header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                data: float32Bytes([1, 2])))
            expectWeightError(.duplicateKey(path: duplicate.path, key: "a")) { _ = try SafeTensors(contentsOf: duplicate) }

            let fine = try SafeTensors(contentsOf: try file("good.safetensors", makeSafeTensors(header: good, data: float32Bytes([1, 2]))))
            #expect(try fine.tensor(named: "a").scalars == [1, 2])
            expectWeightError(.missingKey(path: fine.path, key: "b")) { _ = try fine.tensor(named: "b") }

            let absent = folder.appendingPathComponent("absent.safetensors")
            expectWeightError(path: absent.path, { if case .unreadable = $0 { true } else { false } }) { _ = try SafeTensors(contentsOf: absent) }
        }
    }

    /// Strings without escapes are made from their bytes in one step, strings with escapes byte
    /// by byte from the first escape on: both give the same text, and the errors (invalid UTF-8,
    /// a control character, an unterminated string) and their offsets are those of the byte loop.
    @Test func headerStringsParseTheSameWithAndWithoutEscapes() throws {
        func parse(_ bytes: [UInt8]) throws -> OrderedJSON {
            try bytes.withUnsafeBytes { try OrderedJSON.parse($0) }
        }
        func parse(_ text: String) throws -> OrderedJSON { try parse(Array(text.utf8)) }
        #expect(try parse(#"{"plain":"value","":"","ünï":"ĉødé ✓"}"#)
                == .object([("plain", .string("value")), ("", .string("")), ("ünï", .string("ĉødé ✓"))]))
        // An escape after a plain run, at the start, and several; \u with a surrogate pair.
        #expect(try parse(#"["ab\"cd","\\x","a\nb\tc\/d","\u00e9\ud83d\ude00!"]"#)
                == .array([.string("ab\"cd"), .string("\\x"), .string("a\nb\tc/d"), .string("é😀!")]))
        let long = String(repeating: "k", count: 10_000)
        #expect(try parse("[\"\(long)\",\"\(long)\\n\"]") == .array([.string(long), .string(long + "\n")]))
        func failure(_ bytes: [UInt8]) -> OrderedJSON.ParseError? {
            do { _ = try parse(bytes); return nil } catch { return error as? OrderedJSON.ParseError }
        }
        let invalid = failure(Array(#"["ab"#.utf8) + [0xFF] + Array(#""]"#.utf8))
        #expect(invalid?.reason == "string is not valid UTF-8" && invalid?.offset == 6)
        let invalidAfterEscape = failure(Array(#"["\n"#.utf8) + [0xFF] + Array(#""]"#.utf8))
        #expect(invalidAfterEscape?.reason == "string is not valid UTF-8" && invalidAfterEscape?.offset == 6)
        let control = failure(Array(#"["ab"#.utf8) + [0x0A] + Array(#""]"#.utf8))
        #expect(control?.reason == "control character in a string" && control?.offset == 5)
        let unterminated = failure(Array(#"["abc"#.utf8))
        #expect(unterminated?.reason == "unterminated string" && unterminated?.offset == 5)
        let unterminatedEscape = failure(Array(#"["abc\"#.utf8))
        #expect(unterminatedEscape?.reason == "unterminated escape" && unterminatedEscape?.offset == 6)
    }

    // MARK: The authors' files

    /// Rewriting the authors' safetensors copy (same tensors and metadata) reproduces it byte for
    /// byte: the writer matches the Python library.
    @Test(.enabled(if: authorsWeightsAvailable, "the authors' checkpoints are not in ../shared/weights/beyond-generation"))
    func rewritingTheAuthorsFileReproducesItExactly() throws {
        try withTemporaryFolder { folder in
            let original = authorsWeightsFolder.appendingPathComponent("basic.safetensors")
            let file = try SafeTensors(contentsOf: original)
            #expect(file.keys.count == 69)
            let copy = folder.appendingPathComponent("basic.safetensors")
            try SafeTensors.write(try file.tensors().map { ($0.key, $0.tensor) }, metadata: file.metadata, to: copy)
            #expect(try Data(contentsOf: copy) == Data(contentsOf: original))
        }
    }
}
