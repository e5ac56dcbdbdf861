/// A pickle reader (protocols 2–5) that builds data and never runs code.
///
/// Python's unpickler is a stack machine whose `GLOBAL` + `REDUCE` opcodes call arbitrary
/// functions; a checkpoint that asks for `os.system` would run it. This machine implements the
/// opcodes `torch.save` emits (and the usual binary ones around them) and interprets only a fixed
/// list of globals itself — `collections.OrderedDict`, the `torch._utils._rebuild_*` functions,
/// the `torch.*Storage` classes, `builtins.set`/`frozenset` and `_codecs.encode` (how protocol 2
/// spells `bytes`). Any other global fails with ``WeightFileError/forbiddenGlobal(path:name:)``
/// the moment it is named, unless the caller listed it as opaque, in which case calling it only
/// records an inert description.
///
/// **Bounds.** A hostile pickle must cost little and never crash the reader, so the machine
/// bounds what a stream can make it hold: at most ``maximumStackCount`` values on the stack, at
/// most ``maximumMemoCount`` memo entries, and the decoded ``PickleValue`` tree at most
/// ``maximumNesting`` deep with at most ``maximumValueCount`` values in all (the "billion laughs"
/// pickle — one tuple doubled through the memo 26 times in 416 bytes — would otherwise
/// materialise 2²⁶ values). Containers are reference boxes that the machine also records as it
/// creates them; when decoding ends, on success or failure, every box is emptied (see
/// ``releaseContainers()``), so a chain of 100,000 nested lists or tuples is freed one link at a
/// time instead of by a recursive release that would overflow the thread's stack.
struct PickleMachine {
    /// The most values the stack may hold at once.
    static let maximumStackCount = 1 << 22
    /// The most memo entries a stream may store.
    static let maximumMemoCount = 1 << 22
    /// The deepest nesting of containers accepted in the decoded value (real checkpoints nest
    /// under ten deep).
    static let maximumNesting = 256
    /// The most values (containers and scalars, counted each time they are reached, so shared
    /// objects count once per reference) the decoded value may hold.
    static let maximumValueCount = 1 << 21

    /// A container the machine created, which it empties when decoding ends.
    protocol Container: AnyObject {
        /// Drops every element (after which freeing the box releases nothing nested).
        func removeContents()
    }

    /// Every container made while decoding, kept alive until ``releaseContainers()`` empties them.
    final class ContainerRegistry {
        var containers: [any Container] = []
    }

    /// An immutable Python tuple (a box, so teardown can empty it like the mutable ones).
    final class TupleBox: Container {
        private(set) var items: [Object]
        init(_ items: [Object]) { self.items = items }
        func removeContents() { items = [] }
    }

    /// A mutable Python list, shared through the memo as in Python.
    final class ListBox: Container {
        var items: [Object] = []
        func removeContents() { items = [] }
    }

    /// A mutable Python dict in insertion order; keys that are strings or ints are deduplicated
    /// as Python does (a repeated key replaces the value in place).
    final class DictBox: Container {
        var entries: [(key: Object, value: Object)] = []
        private var stringIndex: [String: Int] = [:]
        private var integerIndex: [Int: Int] = [:]

        func set(_ key: Object, _ value: Object) {
            switch key {
            case .string(let s):
                if let i = stringIndex[s] { entries[i].value = value; return }
                stringIndex[s] = entries.count
            case .int(let n):
                if let i = integerIndex[n] { entries[i].value = value; return }
                integerIndex[n] = entries.count
            default:
                break
            }
            entries.append((key, value))
        }

        func removeContents() {
            entries = []
            stringIndex = [:]
            integerIndex = [:]
        }
    }

    /// A mutable Python set (order of insertion kept; not deduplicated).
    final class SetBox: Container {
        var items: [Object] = []
        func removeContents() { items = [] }
    }

    /// An instance of an opaque (caller-permitted) class: never interpreted.
    final class OpaqueBox: Container {
        let typeName: String
        private(set) var arguments: [Object]
        var state: Object?
        init(typeName: String, arguments: [Object]) {
            self.typeName = typeName
            self.arguments = arguments
        }
        func removeContents() {
            arguments = []
            state = nil
        }
    }

    /// A storage named by a persistent id: `('storage', torch.FloatStorage, key, location, count)`.
    struct Storage {
        let key: String
        let dtype: WeightDType
        let count: Int
        let typeName: String
    }

    /// A value on the machine's stack.
    indirect enum Object {
        case none
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
        case bytes([UInt8])
        case tuple(TupleBox)
        case list(ListBox)
        case dict(DictBox)
        case set(SetBox)
        case global(String)
        case storage(Storage)
        case tensor(PyTorchCheckpoint.TensorRecord)
        case opaque(OpaqueBox)

        var kindName: String {
            switch self {
            case .none: return "None"
            case .bool: return "a bool"
            case .int: return "an int"
            case .float: return "a float"
            case .string: return "a str"
            case .bytes: return "bytes"
            case .tuple: return "a tuple"
            case .list: return "a list"
            case .dict: return "a dict"
            case .set: return "a set"
            case .global(let name): return "the global \(name)"
            case .storage: return "a storage"
            case .tensor: return "a tensor"
            case .opaque(let box): return "a \(box.typeName) object"
            }
        }
    }

    /// The globals this machine interprets itself.
    static let interpretedGlobals: Set<String> = [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
        "builtins.set", "builtins.frozenset", "_codecs.encode",
        "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.DoubleStorage",
        "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
        "torch.ByteStorage", "torch.BoolStorage",
    ]

    let bytes: UnsafeRawBufferPointer
    let path: String
    /// Extra globals the caller lets through as inert placeholders.
    let opaqueGlobals: Set<String>
    private var position = 0
    private var stack: [Object] = []
    private var marks: [Int] = []
    private var memo: [Int: Object] = [:]
    private let registry = ContainerRegistry()

    init(bytes: UnsafeRawBufferPointer, path: String, opaqueGlobals: Set<String> = []) {
        self.bytes = bytes
        self.path = path
        self.opaqueGlobals = opaqueGlobals
    }

    // MARK: Reading the stream

    private func invalid(_ reason: String) -> WeightFileError {
        .invalidPickle(path: path, reason: "\(reason) (at byte \(position) of data.pkl)")
    }

    private mutating func read(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - position else {
            throw invalid("data.pkl ends before its STOP opcode: \(count) more bytes needed, \(bytes.count - position) left")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    private mutating func readByte() throws -> UInt8 { try read(1)[0] }

    private mutating func readLittleEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
        T(littleEndian: try read(MemoryLayout<T>.size).loadUnaligned(as: T.self))
    }

    private mutating func readLength<T: FixedWidthInteger>(_: T.Type) throws -> Int {
        let length = try readLittleEndian(T.self)
        guard length >= 0, UInt64(length) <= UInt64(bytes.count - position) else {
            throw invalid("a length of \(length) bytes runs past the end of data.pkl (\(bytes.count - position) left)")
        }
        return Int(length)
    }

    private mutating func readLine() throws -> String {
        guard let newline = bytes[position...].firstIndex(of: 0x0A) else { throw invalid("unterminated line") }
        let line = UnsafeRawBufferPointer(rebasing: bytes[position..<newline])
        position = newline + 1
        return String(decoding: line, as: UTF8.self)
    }

    private mutating func readString(length: Int) throws -> String {
        guard let text = String(validating: try read(length), as: UTF8.self) else { throw invalid("string is not valid UTF-8") }
        return text
    }

    // MARK: The stack

    /// Records a new container so that ``releaseContainers()`` can empty it.
    private func made<Box: Container>(_ box: Box) -> Box {
        registry.containers.append(box)
        return box
    }

    private func tuple(_ items: [Object]) -> Object { .tuple(made(TupleBox(items))) }

    private mutating func push(_ object: Object) throws {
        guard stack.count < PickleMachine.maximumStackCount else {
            throw invalid("the stack holds more than \(PickleMachine.maximumStackCount) values")
        }
        stack.append(object)
    }

    /// Empties every container made while decoding, so that dropping the machine's stack, memo
    /// and values releases nothing nested (iterative teardown: no recursion however deep the
    /// stream nested them), and reference cycles built through the memo are broken.
    mutating func releaseContainers() {
        for container in registry.containers { container.removeContents() }
        registry.containers = []
        stack = []
        marks = []
        memo = [:]
    }

    private mutating func pop() throws -> Object {
        guard let top = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw invalid("stack underflow") }
        return top
    }

    private mutating func popMark() throws -> [Object] {
        guard let mark = marks.popLast() else { throw invalid("no MARK on the stack") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func top() throws -> Object {
        guard let top = stack.last, stack.count > (marks.last ?? 0) else { throw invalid("stack underflow") }
        return top
    }

    private mutating func memoize(_ index: Int) throws {
        guard memo.count < PickleMachine.maximumMemoCount || memo[index] != nil else {
            throw invalid("the memo holds more than \(PickleMachine.maximumMemoCount) entries")
        }
        memo[index] = try top()
    }

    private func fetch(_ index: Int) throws -> Object {
        guard let value = memo[index] else { throw invalid("memo entry \(index) was never stored") }
        return value
    }

    // MARK: Running

    /// Runs the stream to its STOP opcode and returns the object built.
    ///
    /// `persistentLoad` turns the tuple given to `BINPERSID` into a value (the checkpoint maps
    /// storage ids to ``Storage``).
    mutating func run(persistentLoad: (Object) throws -> Object) throws -> Object {
        while true {
            let opcodePosition = position
            let opcode = try readByte()
            switch opcode {
            case 0x80:  // PROTO
                let version = try readByte()
                guard version <= 5 else { throw invalid("pickle protocol \(version) is newer than 5") }
            case 0x95:  // FRAME: a length hint; frames are read sequentially anyway
                _ = try readLittleEndian(UInt64.self)
            case 0x2E:  // STOP
                guard let result = stack.last else { throw invalid("STOP with an empty stack") }
                return result  // as Python's unpickler: the top of the stack, whatever lies below

            case 0x28: marks.append(stack.count)                           // MARK
            case 0x30: _ = try pop()                                        // POP
            case 0x31: _ = try popMark()                                    // POP_MARK
            case 0x32: try push(try top())                              // DUP

            case 0x4E: try push(.none)                                  // NONE
            case 0x88: try push(.bool(true))                            // NEWTRUE
            case 0x89: try push(.bool(false))                           // NEWFALSE
            case 0x4A: try push(.int(Int(try readLittleEndian(Int32.self))))   // BININT
            case 0x4B: try push(.int(Int(try readByte())))                     // BININT1
            case 0x4D: try push(.int(Int(try readLittleEndian(UInt16.self))))  // BININT2
            case 0x8A: try push(.int(try readLong(length: Int(try readByte()))))          // LONG1
            case 0x8B: try push(.int(try readLong(length: try readLength(Int32.self))))   // LONG4
            case 0x47:  // BINFLOAT: big-endian binary64
                let bits = UInt64(bigEndian: try read(8).loadUnaligned(as: UInt64.self))
                try push(.float(Double(bitPattern: bits)))

            case 0x58: try push(.string(try readString(length: try readLength(UInt32.self))))  // BINUNICODE
            case 0x8C: try push(.string(try readString(length: Int(try readByte()))))         // SHORT_BINUNICODE
            case 0x8D: try push(.string(try readString(length: try readLength(UInt64.self))))  // BINUNICODE8
            case 0x42: try push(.bytes(Array(try read(try readLength(UInt32.self)))))         // BINBYTES
            case 0x43: try push(.bytes(Array(try read(Int(try readByte())))))                 // SHORT_BINBYTES
            case 0x8E, 0x96: try push(.bytes(Array(try read(try readLength(UInt64.self)))))   // BINBYTES8, BYTEARRAY8

            case 0x29: try push(tuple([]))                                  // EMPTY_TUPLE
            case 0x74: try push(tuple(try popMark()))                       // TUPLE
            case 0x85: try push(tuple([try pop()]))                         // TUPLE1
            case 0x86:                                                      // TUPLE2
                let b = try pop(), a = try pop()
                try push(tuple([a, b]))
            case 0x87:                                                      // TUPLE3
                let c = try pop(), b = try pop(), a = try pop()
                try push(tuple([a, b, c]))

            case 0x5D: try push(.list(made(ListBox())))                       // EMPTY_LIST
            case 0x6C:                                                      // LIST
                let list = made(ListBox())
                list.items = try popMark()
                try push(.list(list))
            case 0x61:                                                      // APPEND
                let item = try pop()
                try append([item], to: try top())
            case 0x65:                                                      // APPENDS
                let items = try popMark()
                try append(items, to: try top())

            case 0x7D: try push(.dict(made(DictBox())))                       // EMPTY_DICT
            case 0x64:                                                      // DICT
                let dict = made(DictBox())
                try setItems(try popMark(), in: .dict(dict))
                try push(.dict(dict))
            case 0x73:                                                      // SETITEM
                let value = try pop(), key = try pop()
                try setItems([key, value], in: try top())
            case 0x75:                                                      // SETITEMS
                let items = try popMark()
                try setItems(items, in: try top())

            case 0x8F: try push(.set(made(SetBox())))                         // EMPTY_SET
            case 0x90:                                                      // ADDITEMS
                let items = try popMark()
                guard case .set(let set) = try top() else { throw invalid("ADDITEMS on \(try top().kindName)") }
                set.items.append(contentsOf: items)
            case 0x91:                                                      // FROZENSET
                let set = made(SetBox())
                set.items = try popMark()
                try push(.set(set))

            case 0x71: try memoize(Int(try readByte()))                     // BINPUT
            case 0x72: try memoize(Int(try readLittleEndian(UInt32.self)))  // LONG_BINPUT
            case 0x94: try memoize(memo.count)                              // MEMOIZE
            case 0x68: try push(try fetch(Int(try readByte())))         // BINGET
            case 0x6A: try push(try fetch(Int(try readLittleEndian(UInt32.self))))  // LONG_BINGET

            case 0x63:                                                      // GLOBAL: "module\nname\n"
                let module = try readLine()
                let name = try readLine()
                try push(try global(module: module, name: name))
            case 0x93:                                                      // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let moduleName) = module, case .string(let globalName) = name else {
                    throw invalid("STACK_GLOBAL needs two strings, got \(module.kindName) and \(name.kindName)")
                }
                try push(try global(module: moduleName, name: globalName))
            case 0x52:                                                      // REDUCE
                let arguments = try pop(), callable = try pop()
                guard case .tuple(let box) = arguments else { throw invalid("REDUCE arguments are \(arguments.kindName), not a tuple") }
                try push(try call(callable, box.items))
            case 0x81:                                                      // NEWOBJ: cls.__new__(cls, *args)
                let arguments = try pop(), callable = try pop()
                guard case .tuple(let box) = arguments else { throw invalid("NEWOBJ arguments are \(arguments.kindName), not a tuple") }
                try push(try call(callable, box.items))
            case 0x62:                                                      // BUILD
                let state = try pop()
                try build(try top(), state: state)
            case 0x51:                                                      // BINPERSID
                try push(try persistentLoad(try pop()))

            default:
                throw WeightFileError.unsupportedPickleOpcode(path: path, opcode: opcode, position: opcodePosition)
            }
        }
    }

    /// A little-endian two's-complement integer of `length` bytes (LONG1/LONG4).
    private mutating func readLong(length: Int) throws -> Int {
        let data = try read(length)
        guard length <= 8 else {
            // Wider encodings are fine when the extra bytes only carry the sign.
            let fill: UInt8 = data[7] & 0x80 != 0 ? 0xFF : 0
            guard data[8...].allSatisfy({ $0 == fill }) else { throw invalid("integer wider than 64 bits") }
            return try Self.littleEndianInteger(UnsafeRawBufferPointer(rebasing: data[0..<8]))
        }
        return try Self.littleEndianInteger(data)
    }

    private static func littleEndianInteger(_ data: UnsafeRawBufferPointer) throws -> Int {
        guard !data.isEmpty else { return 0 }
        var value: UInt64 = data[data.count - 1] & 0x80 != 0 ? UInt64.max : 0   // sign extension
        for byte in data.reversed() { value = value << 8 | UInt64(byte) }
        return Int(bitPattern: UInt(value))
    }

    private func append(_ items: [Object], to target: Object) throws {
        switch target {
        case .list(let list): list.items.append(contentsOf: items)
        case .set(let set): set.items.append(contentsOf: items)
        default: throw invalid("APPEND to \(target.kindName)")
        }
    }

    private func setItems(_ items: [Object], in target: Object) throws {
        guard case .dict(let dict) = target else { throw invalid("SETITEM on \(target.kindName)") }
        guard items.count % 2 == 0 else { throw invalid("SETITEMS with an odd number of values") }
        for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
    }

    // MARK: Globals: the allow list

    /// Resolves `module.name` against the allow list; Python 2 module names are mapped as
    /// pickle's `fix_imports` does.
    private func global(module: String, name: String) throws -> Object {
        let renamed = ["__builtin__": "builtins", "copy_reg": "copyreg"][module] ?? module
        let full = renamed + "." + name
        guard PickleMachine.interpretedGlobals.contains(full) || opaqueGlobals.contains(full) else {
            throw WeightFileError.forbiddenGlobal(path: path, name: full)
        }
        return .global(full)
    }

    /// Interprets a call of an allowed global (REDUCE/NEWOBJ) without running anything.
    private func call(_ callable: Object, _ arguments: [Object]) throws -> Object {
        guard case .global(let name) = callable else { throw invalid("cannot call \(callable.kindName)") }
        switch name {
        case "collections.OrderedDict":
            let dict = made(DictBox())
            if let first = arguments.first {
                guard arguments.count == 1, case .list(let pairs) = first else { throw invalid("OrderedDict arguments must be a list of pairs") }
                for pair in pairs.items {
                    guard case .tuple(let box) = pair, case let kv = box.items, kv.count == 2 else { throw invalid("OrderedDict arguments must be a list of pairs") }
                    dict.set(kv[0], kv[1])
                }
            }
            return .dict(dict)
        case "builtins.set", "builtins.frozenset":
            let set = made(SetBox())
            if let first = arguments.first {
                switch first {
                case .list(let list): set.items = list.items
                case .tuple(let box): set.items = box.items
                case .set(let other): set.items = other.items
                default: throw invalid("\(name) of \(first.kindName)")
                }
            }
            return .set(set)
        case "_codecs.encode":
            // Protocol 2 pickles bytes as _codecs.encode(text, "latin1"): one byte per code point.
            guard arguments.count == 2, case .string(let text) = arguments[0], case .string(let encoding) = arguments[1],
                  ["latin1", "latin-1", "iso-8859-1"].contains(encoding.lowercased()) else {
                throw invalid("_codecs.encode is only supported as encode(str, 'latin1')")
            }
            var result: [UInt8] = []
            for scalar in text.unicodeScalars {
                guard scalar.value < 256 else { throw invalid("_codecs.encode: character outside latin-1") }
                result.append(UInt8(scalar.value))
            }
            return .bytes(result)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            return .tensor(try rebuildTensor(name, arguments))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            // (data, requires_grad, backward_hooks[, state])
            guard arguments.count >= 3, case .tensor(let record) = arguments[0], case .bool(let requiresGradient) = arguments[1] else {
                throw invalid("\(name) expects (tensor, requires_grad, hooks, …)")
            }
            return .tensor(record.withRequiresGradient(requiresGradient))
        default:
            if opaqueGlobals.contains(name) { return .opaque(made(OpaqueBox(typeName: name, arguments: arguments))) }
            throw invalid("\(name) cannot be called")
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`
    /// (or the older `_rebuild_tensor(storage, storage_offset, size, stride)`) as a record.
    private func rebuildTensor(_ name: String, _ arguments: [Object]) throws -> PyTorchCheckpoint.TensorRecord {
        let usage = "\(name) expects (storage, offset, size, stride, …)"
        guard arguments.count >= 4, case .storage(let storage) = arguments[0], case .int(let offset) = arguments[1],
              case .tuple(let sizeBox) = arguments[2], case .tuple(let strideBox) = arguments[3] else {
            throw invalid(usage)
        }
        let sizeItems = sizeBox.items, strideItems = strideBox.items
        func integers(_ items: [Object]) throws -> [Int] {
            try items.map { item in
                guard case .int(let n) = item else { throw invalid(usage + ": size and stride must hold ints") }
                return n
            }
        }
        let shape = try integers(sizeItems), strides = try integers(strideItems)
        var requiresGradient = false
        if name.hasSuffix("_v2") {
            guard arguments.count == 6 || arguments.count == 7, case .bool(let flag) = arguments[4] else { throw invalid(usage) }
            requiresGradient = flag
        }
        guard shape.count == strides.count else {
            throw invalid("\(name): size \(shape) and stride \(strides) have different lengths")
        }
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw invalid("\(name): negative offset, size or stride (offset \(offset), size \(shape), stride \(strides))")
        }
        return PyTorchCheckpoint.TensorRecord(storageKey: storage.key, dtype: storage.dtype, storageCount: storage.count,
                                              storageOffset: offset, shape: shape, strides: strides,
                                              requiresGradient: requiresGradient)
    }

    /// BUILD: `state` is applied to the object on top of the stack. Opaque objects keep it;
    /// dicts and tensors accept and drop it (a state dict's `_metadata`, tensor attributes);
    /// anything else is an error.
    private func build(_ target: Object, state: Object) throws {
        switch target {
        case .dict, .tensor:
            break
        case .opaque(let box):
            box.state = state
        default:
            throw invalid("BUILD on \(target.kindName)")
        }
    }

    // MARK: Conversion to values

    /// Runs the stream (see ``run(persistentLoad:)``), converts the object built to a
    /// ``PickleValue`` and, on every path, empties the containers (``releaseContainers()``).
    mutating func decode(persistentLoad: (Object) throws -> Object) throws -> PickleValue {
        defer { releaseContainers() }
        let object = try run(persistentLoad: persistentLoad)
        return try value(of: object)
    }

    /// The object as a ``PickleValue`` tree; shared containers are copied, cycles, nesting
    /// deeper than ``maximumNesting`` and trees of more than ``maximumValueCount`` values are
    /// rejected.
    func value(of object: Object) throws -> PickleValue {
        var visiting = Set<ObjectIdentifier>()
        var count = 0
        return try value(of: object, depth: 0, count: &count, visiting: &visiting)
    }

    private func value(of object: Object, depth: Int, count: inout Int, visiting: inout Set<ObjectIdentifier>) throws -> PickleValue {
        guard depth < PickleMachine.maximumNesting else {
            throw WeightFileError.invalidPickle(path: path, reason: "objects nested more than \(PickleMachine.maximumNesting) deep")
        }
        count += 1
        guard count <= PickleMachine.maximumValueCount else {
            throw WeightFileError.invalidPickle(path: path,
                reason: "the pickle expands to more than \(PickleMachine.maximumValueCount) values (objects shared through the memo count once per reference)")
        }
        func enter(_ box: AnyObject) throws {
            guard visiting.insert(ObjectIdentifier(box)).inserted else {
                throw WeightFileError.invalidPickle(path: path, reason: "a container contains itself")
            }
        }
        func convert(_ items: [Object]) throws -> [PickleValue] {
            try items.map { try value(of: $0, depth: depth + 1, count: &count, visiting: &visiting) }
        }
        switch object {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let n): return .integer(n)
        case .float(let x): return .float(x)
        case .string(let s): return .string(s)
        case .bytes(let b): return .bytes(b)
        case .tuple(let box):
            try enter(box)
            defer { visiting.remove(ObjectIdentifier(box)) }
            return .tuple(try convert(box.items))
        case .list(let box):
            try enter(box)
            defer { visiting.remove(ObjectIdentifier(box)) }
            return .list(try convert(box.items))
        case .set(let box):
            try enter(box)
            defer { visiting.remove(ObjectIdentifier(box)) }
            return .set(try convert(box.items))
        case .dict(let box):
            try enter(box)
            defer { visiting.remove(ObjectIdentifier(box)) }
            return .dictionary(try box.entries.map {
                (try value(of: $0.key, depth: depth + 1, count: &count, visiting: &visiting),
                 try value(of: $0.value, depth: depth + 1, count: &count, visiting: &visiting))
            })
        case .global(let name): return .global(name)
        case .storage(let storage):
            return .object(typeName: storage.typeName, arguments: [.string(storage.key), .integer(storage.count)], state: nil)
        case .tensor(let record): return .tensor(record)
        case .opaque(let box):
            try enter(box)
            defer { visiting.remove(ObjectIdentifier(box)) }
            return .object(typeName: box.typeName, arguments: try convert(box.arguments),
                           state: try box.state.map { try value(of: $0, depth: depth + 1, count: &count, visiting: &visiting) })
        }
    }
}
