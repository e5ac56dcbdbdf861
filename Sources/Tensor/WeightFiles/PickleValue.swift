/// A Python object decoded from a checkpoint's pickle, as plain data — nothing in it was executed.
///
/// Containers keep Python's order (a dict lists its entries in insertion order). Tensors appear
/// as ``PyTorchCheckpoint/TensorRecord`` values that say where their data lives; read them with
/// ``PyTorchCheckpoint/tensor(_:)``. Objects of classes the caller explicitly let through (see
/// ``PyTorchCheckpoint/init(contentsOf:permittingOpaqueGlobals:)``) appear as inert
/// ``object(typeName:arguments:state:)`` descriptions.
public indirect enum PickleValue: Sendable {
    /// `None`.
    case none
    /// `True` or `False`.
    case bool(Bool)
    /// An `int` that fits in 64 bits.
    case integer(Int)
    /// A `float`.
    case float(Double)
    /// A `str`.
    case string(String)
    /// A `bytes` or `bytearray`.
    case bytes([UInt8])
    /// A `tuple`.
    case tuple([PickleValue])
    /// A `list`.
    case list([PickleValue])
    /// A `dict` or `collections.OrderedDict`, in insertion order.
    case dictionary([(key: PickleValue, value: PickleValue)])
    /// A `set` or `frozenset`.
    case set([PickleValue])
    /// A `torch.Tensor` or `torch.nn.Parameter`, not yet read.
    case tensor(PyTorchCheckpoint.TensorRecord)
    /// A reference to a class or function by its dotted name (e.g. `"torch.FloatStorage"`).
    case global(String)
    /// An instance of an opaque class the caller permitted: its class name, the arguments it was
    /// constructed with, and the state later applied to it (never interpreted).
    case object(typeName: String, arguments: [PickleValue], state: PickleValue?)

    /// The value stored under the string key `key` when this is a dictionary, else nil.
    public subscript(key: String) -> PickleValue? {
        guard case .dictionary(let entries) = self else { return nil }
        return entries.last(where: { if case .string(key) = $0.key { return true } else { return false } })?.value
    }

    /// The entries when this is a dictionary, else nil.
    public var dictionaryEntries: [(key: PickleValue, value: PickleValue)]? {
        if case .dictionary(let entries) = self { return entries }
        return nil
    }

    /// A short name of the value's kind, for messages (`"a dict"`, `"a tensor"`…).
    public var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .integer: return "an int"
        case .float: return "a float"
        case .string: return "a str"
        case .bytes: return "bytes"
        case .tuple: return "a tuple"
        case .list: return "a list"
        case .dictionary: return "a dict"
        case .set: return "a set"
        case .tensor: return "a tensor"
        case .global(let name): return "the global \(name)"
        case .object(let typeName, _, _): return "a \(typeName) object"
        }
    }
}
