import Foundation

/// A PyTorch checkpoint written by `torch.save` (a `.pth`/`.pt`/`.ckpt` zip archive), read
/// without executing anything, memory-mapped, its tensors converted to float32 on demand.
///
/// The archive holds `<name>/data.pkl` (the pickled object), `<name>/data/<key>` (one raw
/// storage per key) and `<name>/byteorder`. The pickle is decoded by a stack machine that knows
/// only the globals a checkpoint of tensors needs (see ``WeightFileError/forbiddenGlobal(path:name:)``);
/// each `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` becomes a
/// ``TensorRecord`` — storage views with any offset and strides (transposes, slices) are honoured
/// when the tensor is read.
///
/// The state dict is found as `torch.load` users expect: the top-level dict when all its values
/// are tensors, else the first of ``stateDictWrapperKeys`` (`"state_dict"`, `"model"`…) that
/// holds such a dict. ``root`` keeps the whole object (epoch counters, optimizer state…), and
/// ``selecting(stateDictAt:)`` picks another nested dict (an EMA copy, say).
///
/// ```swift
/// let checkpoint = try PyTorchCheckpoint(contentsOf: url)
/// let weight = try checkpoint.tensor(named: "group1.hpf.weight")   // [30, 1, 5, 5]
/// ```
///
/// **Limitations:** compressed (deflate) entries are refused — `torch.save` never compresses;
/// the legacy non-zip format (PyTorch < 1.6), sparse and quantized tensors are not supported.
public struct PyTorchCheckpoint: WeightFile {
    /// Where a tensor's elements live: a view into one storage of the archive, as PyTorch's
    /// `Tensor.as_strided(size, stride, storage_offset)` describes it.
    public struct TensorRecord: Equatable, Sendable {
        /// The storage's key: its data is the archive entry `<name>/data/<storageKey>`.
        public let storageKey: String
        /// The storage's element type.
        public let dtype: WeightDType
        /// The number of elements in the storage.
        public let storageCount: Int
        /// The index, in elements, of the tensor's first element within the storage.
        public let storageOffset: Int
        /// The tensor's extent along each dimension; `[]` for a scalar.
        public let shape: [Int]
        /// The distance, in storage elements, between neighbours along each dimension.
        public let strides: [Int]
        /// Whether the tensor was saved with `requires_grad` (a trained `nn.Parameter`).
        public let requiresGradient: Bool

        /// Whether the elements are laid out row-major without gaps (size-1 dimensions may have
        /// any stride, as in PyTorch).
        public var isContiguous: Bool {
            var expected = 1
            for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
                if strides[axis] != expected { return false }
                expected &*= shape[axis]  // wrapping: a shape too large to address is refused when read
            }
            return true
        }

        /// The number of elements the view holds (the product of ``shape``), or nil when it
        /// overflows `Int`.
        public var elementCount: Int? {
            var count = 1
            for extent in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: extent)
                guard !overflow else { return nil }
                count = product
            }
            return count
        }

        /// The same view with `requiresGradient` replaced.
        func withRequiresGradient(_ flag: Bool) -> TensorRecord {
            TensorRecord(storageKey: storageKey, dtype: dtype, storageCount: storageCount, storageOffset: storageOffset,
                         shape: shape, strides: strides, requiresGradient: flag)
        }
    }

    /// The most elements a checkpoint's tensors may hold beyond the elements their storages
    /// hold (16 Mi, 64 MB as float32). A view with zero strides (an `expand`ed tensor) repeats its
    /// storage; without a bound a 300-byte file could declare a `[2^28]` view of one element and
    /// be read — or converted to safetensors — as 1 GiB. Views within their storage never count
    /// against it; the bound applies to each tensor read and to the state dict as a whole.
    public static let maximumRepeatedElements = 1 << 24

    /// Keys under which training scripts commonly nest the state dict, tried in this order.
    public static let stateDictWrapperKeys = ["state_dict", "model", "model_state_dict", "module", "net", "network"]

    /// The file's location.
    public let url: URL
    /// The whole unpickled object, tensors included as ``PickleValue/tensor(_:)`` records.
    public let root: PickleValue
    /// The archive's top folder (`"basic"` for `basic/data.pkl`).
    public let archiveName: String
    /// The string keys leading from ``root`` to the selected state dict (`[]` when the root is it).
    public let stateDictPath: [String]
    /// The selected state dict's tensor names, in file order.
    public let keys: [String]
    /// Whether the storages are little-endian (the archive's `byteorder` entry).
    public let isLittleEndian: Bool
    /// Whether tensors are returned with NaN and ±∞ values as stored; false (the default)
    /// refuses them with ``WeightFileError/nonFiniteValues(path:key:count:firstIndex:)``.
    public let acceptsNonFiniteValues: Bool
    private let records: [String: TensorRecord]
    private let archive: ZipArchive

    /// The path of the file.
    public var path: String { archive.file.path }

    /// Maps the checkpoint at `url`, decodes its pickle and selects the state dict.
    ///
    /// - Parameters:
    ///   - url: a zip checkpoint written by `torch.save` (PyTorch ≥ 1.6).
    ///   - permittingOpaqueGlobals: dotted names of extra globals that may appear (e.g.
    ///     `"pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint"` in a Lightning
    ///     checkpoint's callbacks). They are never called: they show up in ``root`` as inert
    ///     ``PickleValue/object(typeName:arguments:state:)`` values. Any global that is neither
    ///     listed here nor interpreted by the reader fails with
    ///     ``WeightFileError/forbiddenGlobal(path:name:)``.
    /// - Throws: ``WeightFileError`` naming the file and the problem: a bad zip, a forbidden global,
    ///   an unsupported opcode, or a tensor that reaches outside its storage.
    public init(contentsOf url: URL, permittingOpaqueGlobals: Set<String> = []) throws {
        try self.init(contentsOf: url, permittingOpaqueGlobals: permittingOpaqueGlobals, acceptingNonFiniteValues: false)
    }

    /// Maps the checkpoint at `url`, decodes its pickle and selects the state dict; see
    /// ``init(contentsOf:permittingOpaqueGlobals:)``.
    ///
    /// - Parameters:
    ///   - url: a zip checkpoint written by `torch.save` (PyTorch ≥ 1.6).
    ///   - permittingOpaqueGlobals: dotted names of extra globals that may appear, as in
    ///     ``init(contentsOf:permittingOpaqueGlobals:)``.
    ///   - acceptingNonFiniteValues: when false, reading a floating-point tensor that holds NaN or
    ///     ±∞ throws ``WeightFileError/nonFiniteValues(path:key:count:firstIndex:)``; true returns
    ///     the values as stored.
    public init(contentsOf url: URL, permittingOpaqueGlobals: Set<String> = [], acceptingNonFiniteValues: Bool) throws {
        self.url = url
        acceptsNonFiniteValues = acceptingNonFiniteValues
        let file = try MappedFile(url: url)
        let path = file.path
        archive = try ZipArchive(file: file)

        let pickles = archive.entries.filter { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/").count == 2 }
        guard let pickleEntry = pickles.first else {
            throw WeightFileError.badZip(path: path, reason: "no '<name>/data.pkl' entry: not a torch.save checkpoint")
        }
        guard pickles.count == 1 else {
            throw WeightFileError.badZip(path: path, reason: "several data.pkl entries: \(pickles.map(\.name).joined(separator: ", "))")
        }
        archiveName = String(pickleEntry.name.dropLast("/data.pkl".count))

        if let entry = archive.entry(named: archiveName + "/byteorder") {
            let text = String(decoding: try archive.data(of: entry, verifyingChecksum: true), as: UTF8.self)
            switch text.trimmingCharacters(in: .whitespacesAndNewlines) {
            case "little": isLittleEndian = true
            case "big": isLittleEndian = false
            default: throw WeightFileError.badZip(path: path, reason: "byteorder entry says '\(text)', not 'little' or 'big'")
            }
        } else {
            isLittleEndian = true  // checkpoints older than the byteorder entry are little-endian
        }

        var machine = PickleMachine(bytes: try archive.data(of: pickleEntry, verifyingChecksum: true), path: path,
                                    opaqueGlobals: permittingOpaqueGlobals)
        root = try machine.decode { id in try PyTorchCheckpoint.loadStorage(id, path: path) }

        let (statePath, entries) = try PyTorchCheckpoint.findStateDict(in: root, path: path)
        stateDictPath = statePath
        (keys, records) = try PyTorchCheckpoint.index(entries, path: path)
        try validateAll()
    }

    /// The same checkpoint with its state dict taken from the dict reached by `keyPath`.
    private init(selecting keyPath: [String], from other: PyTorchCheckpoint) throws {
        url = other.url
        acceptsNonFiniteValues = other.acceptsNonFiniteValues
        root = other.root
        archiveName = other.archiveName
        isLittleEndian = other.isLittleEndian
        archive = other.archive
        var node = other.root
        for (depth, key) in keyPath.enumerated() {
            guard let next = node[key] else {
                throw WeightFileError.missingKey(path: other.path, key: keyPath[...depth].joined(separator: "/"))
            }
            node = next
        }
        guard let entries = node.dictionaryEntries else {
            throw WeightFileError.invalidPickle(path: other.path, reason: "'\(keyPath.joined(separator: "/"))' is \(node.kindName), not a dict")
        }
        stateDictPath = keyPath
        (keys, records) = try PyTorchCheckpoint.index(entries.filter { if case .tensor = $0.value { return true } else { return false } },
                                                      path: other.path)
        try validateAll()
    }

    /// Validates every state-dict tensor and bounds the elements they repeat, all together,
    /// by ``maximumRepeatedElements``.
    private func validateAll() throws {
        var repeated = 0
        for key in keys {
            let record = records[key]!
            try validate(record, label: key)
            // validate checked the count; beyond the storage only with zero or overlapping strides.
            repeated += max(0, record.elementCount! - record.storageCount)
            guard repeated <= PyTorchCheckpoint.maximumRepeatedElements else {
                throw WeightFileError.invalidTensor(path: path, key: key,
                    reason: "the state dict's views repeat their storages into more than \(PyTorchCheckpoint.maximumRepeatedElements) extra elements (zero strides)")
            }
        }
    }

    /// This checkpoint with ``keys`` and ``tensor(named:)`` referring to the tensors of the dict
    /// reached from ``root`` through the string keys `keyPath` (e.g. `["ema"]`); values that are
    /// not tensors are skipped.
    ///
    /// - Throws: ``WeightFileError/missingKey(path:key:)`` when the path does not exist,
    ///   ``WeightFileError/invalidPickle(path:reason:)`` when it does not lead to a dict.
    public func selecting(stateDictAt keyPath: [String]) throws -> PyTorchCheckpoint {
        try PyTorchCheckpoint(selecting: keyPath, from: self)
    }

    /// Every string-key path from ``root`` to a non-empty dict whose values are all tensors.
    public var stateDictPaths: [[String]] {
        var found: [[String]] = []
        func visit(_ value: PickleValue, _ keyPath: [String]) {
            guard let entries = value.dictionaryEntries else { return }
            if PyTorchCheckpoint.isStateDict(entries) { found.append(keyPath); return }
            for (key, child) in entries {
                if case .string(let name) = key { visit(child, keyPath + [name]) }
            }
        }
        visit(root, [])
        return found
    }

    // MARK: Tensors

    /// Where the tensor named `key` lives and how it is stored.
    ///
    /// - Throws: ``WeightFileError/missingKey(path:key:)`` when the state dict has no such tensor.
    public func record(named key: String) throws -> TensorRecord {
        guard let record = records[key] else { throw WeightFileError.missingKey(path: path, key: key) }
        return record
    }

    /// The shape of the tensor named `key`.
    public func shape(named key: String) throws -> [Int] { try record(named: key).shape }

    /// The tensor named `key` in the state dict, converted to float32.
    public func tensor(named key: String) throws -> Tensor {
        try tensor(try record(named: key), label: key)
    }

    /// The tensor a record describes (one found anywhere in ``root``), converted to float32:
    /// a contiguous view is converted straight from the mapped storage, a strided one is
    /// gathered element by element as PyTorch's `as_strided(...).contiguous()` would.
    public func tensor(_ record: TensorRecord) throws -> Tensor {
        try tensor(record, label: "storage \(record.storageKey)")
    }

    private func tensor(_ record: TensorRecord, label: String) throws -> Tensor {
        let (storage, lastIndex) = try validate(record, label: label)
        var result = Tensor(uninitializedShape: record.shape)
        guard result.count > 0, let base = storage.baseAddress else { return result }
        let size = record.dtype.byteSize
        let first = base + record.storageOffset * size
        let littleEndian = isLittleEndian
        let path = self.path, checking = record.dtype.isFloatingPoint && !acceptsNonFiniteValues
        if record.isContiguous {
            try result.withUnsafeMutableBufferPointer { out in
                record.dtype.convert(from: first, count: out.count, littleEndian: littleEndian, to: out.baseAddress!)
                if checking { try Finiteness.check(UnsafeBufferPointer(out), path: path, key: label) }
            }
            return result
        }
        // Convert the span the view touches, then gather it with the strides.
        let span = lastIndex - record.storageOffset + 1
        let converted = UnsafeMutablePointer<Float>.allocate(capacity: span)
        defer { converted.deallocate() }
        record.dtype.convert(from: first, count: span, littleEndian: littleEndian, to: converted)
        try result.withUnsafeMutableBufferPointer { out in
            PyTorchCheckpoint.gather(UnsafePointer(converted), shape: record.shape, strides: record.strides, into: out.baseAddress!)
            if checking { try Finiteness.check(UnsafeBufferPointer(out), path: path, key: label) }
        }
        return result
    }

    /// Copies the strided view of `source` (offset already applied) into `destination` in
    /// row-major order.
    static func gather(_ source: UnsafePointer<Float>, shape: [Int], strides: [Int], into destination: UnsafeMutablePointer<Float>) {
        let rank = shape.count
        guard rank > 0 else { destination[0] = source[0]; return }
        let inner = shape[rank - 1], innerStride = strides[rank - 1]
        let total = Shape.count(shape)
        guard inner > 0, total > 0 else { return }
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        var written = 0
        while written < total {
            let row = source + offset
            for j in 0..<inner { destination[written &+ j] = row[j &* innerStride] }
            written &+= inner
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                offset &+= strides[axis]
                if index[axis] < shape[axis] { break }
                offset &-= strides[axis] &* shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// Checks that the record's storage entry exists with the right size and that the view stays
    /// inside it; returns the storage bytes and the largest storage index the view touches.
    @discardableResult
    private func validate(_ record: TensorRecord, label: String) throws -> (UnsafeRawBufferPointer, Int) {
        let entryName = archiveName + "/data/" + record.storageKey
        guard let entry = archive.entry(named: entryName) else {
            throw WeightFileError.invalidTensor(path: path, key: label, reason: "storage entry '\(entryName)' is missing from the archive")
        }
        let storage = try archive.data(of: entry)
        let (expectedBytes, overflow) = record.storageCount.multipliedReportingOverflow(by: record.dtype.byteSize)
        guard !overflow, storage.count == expectedBytes else {
            throw WeightFileError.invalidTensor(path: path, key: label,
                reason: "storage '\(entryName)' holds \(storage.count) bytes, but \(record.storageCount) \(record.dtype) elements need \(record.storageCount &* record.dtype.byteSize)")
        }
        var lastIndex = record.storageOffset
        var empty = false
        for (extent, step) in zip(record.shape, record.strides) {
            if extent == 0 { empty = true; continue }
            let (reach, overflowA) = (extent - 1).multipliedReportingOverflow(by: step)
            let (sum, overflowB) = lastIndex.addingReportingOverflow(reach)
            guard !overflowA, !overflowB else {
                throw WeightFileError.invalidTensor(path: path, key: label, reason: "view size \(record.shape) stride \(record.strides) overflows")
            }
            lastIndex = sum
        }
        guard empty || lastIndex < record.storageCount else {
            throw WeightFileError.invalidTensor(path: path, key: label,
                reason: "view (offset \(record.storageOffset), size \(record.shape), stride \(record.strides)) reaches element \(lastIndex) of a \(record.storageCount)-element storage")
        }
        guard let count = record.elementCount else {
            throw WeightFileError.invalidTensor(path: path, key: label, reason: "size \(record.shape) has more elements than can be counted")
        }
        guard count <= record.storageCount || count - record.storageCount <= PyTorchCheckpoint.maximumRepeatedElements else {
            throw WeightFileError.invalidTensor(path: path, key: label,
                reason: "view size \(record.shape) stride \(record.strides) holds \(count) elements of a \(record.storageCount)-element storage (more than \(PyTorchCheckpoint.maximumRepeatedElements) repeated by zero strides)")
        }
        return (storage, lastIndex)
    }

    // MARK: Decoding helpers

    /// Resolves a `BINPERSID` id `('storage', torch.<Type>Storage, key, location, count)`.
    private static func loadStorage(_ id: PickleMachine.Object, path: String) throws -> PickleMachine.Object {
        guard case .tuple(let box) = id, case let items = box.items, items.count == 5, case .string("storage") = items[0],
              case .global(let typeName) = items[1], case .string(let key) = items[2], case .int(let count) = items[4] else {
            throw WeightFileError.invalidPickle(path: path, reason: "persistent id is not ('storage', type, key, location, count)")
        }
        guard typeName.hasPrefix("torch."), let dtype = WeightDType(torchStorageName: String(typeName.dropFirst("torch.".count))) else {
            throw WeightFileError.invalidPickle(path: path, reason: "unsupported storage type \(typeName)")
        }
        guard count >= 0, !key.isEmpty, !key.contains("/") else {
            throw WeightFileError.invalidPickle(path: path, reason: "invalid storage key '\(key)' or count \(count)")
        }
        return .storage(.init(key: key, dtype: dtype, count: count, typeName: typeName))
    }

    /// A non-empty dict whose values are all tensors.
    private static func isStateDict(_ entries: [(key: PickleValue, value: PickleValue)]) -> Bool {
        !entries.isEmpty && entries.allSatisfy { if case .tensor = $0.value { return true } else { return false } }
    }

    /// The state dict: the root if it is one, else the first wrapper key holding one, else the
    /// tensors directly under the root.
    private static func findStateDict(in root: PickleValue, path: String) throws -> ([String], [(key: PickleValue, value: PickleValue)]) {
        guard let entries = root.dictionaryEntries else {
            throw WeightFileError.invalidPickle(path: path, reason: "the checkpoint holds \(root.kindName), not a dict of tensors")
        }
        if entries.isEmpty || isStateDict(entries) { return ([], entries) }
        for key in stateDictWrapperKeys {
            if let nested = root[key]?.dictionaryEntries, isStateDict(nested) { return ([key], nested) }
        }
        return ([], entries.filter { if case .tensor = $0.value { return true } else { return false } })
    }

    /// The tensor entries by name, with string keys required and duplicates rejected.
    private static func index(_ entries: [(key: PickleValue, value: PickleValue)], path: String) throws -> ([String], [String: TensorRecord]) {
        var keys: [String] = []
        var records: [String: TensorRecord] = [:]
        for (key, value) in entries {
            guard case .string(let name) = key else {
                throw WeightFileError.invalidPickle(path: path, reason: "state dict key is \(key.kindName), not a str")
            }
            guard case .tensor(let record) = value else { continue }
            guard records[name] == nil else { throw WeightFileError.duplicateKey(path: path, key: name) }
            keys.append(name)
            records[name] = record
        }
        return (keys, records)
    }
}
