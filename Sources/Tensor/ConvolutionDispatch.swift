// Which kernel computes a 2-D convolution, and the thresholds that decide it, in one place.
//
// Forward paths, tried in this order (`ConvolutionDispatch.forwardPath`):
//   depthwise        one input channel per group               Tensor+Convolution+Depthwise.swift
//   Winograd blocks  many tiny images, stride 1, inference only Tensor+Winograd+TinyImages.swift
//   shifted windows  many small images, stride 1, ≥ 16 channels Tensor+Convolution+Shifted.swift
//   batched im2col   many small images                          Tensor+Convolution+Batched.swift
//   Winograd         large 3×3 stride-1 convolutions            Tensor+Winograd.swift
//   im2col           everything else (pointwise: no im2col)     Tensor+Convolution+Im2col.swift
// The gradients are depthwise, batched (small ungrouped images) or im2col. Every path computes
// the same convolution; only Winograd's results differ from the others' by float rounding.

/// The forward kernel of one convolution, as ``ConvolutionDispatch/forwardPath(_:)`` picks it.
enum ConvolutionForwardPath: Equatable {
    /// Direct loops over each channel's plane (one input channel per group).
    case depthwise
    /// One sgemm per kernel tap over a block of zero-padded images side by side.
    case shiftedWindows
    /// im2col of `imagesPerBlock` images side by side, one sgemm per block and group.
    case batched(imagesPerBlock: Int)
    /// Winograd F(2×2, 3×3).
    case winograd
    /// Winograd F(2×2, 3×3) on blocks of 16 tiny images, vectorised across the images.
    case winogradBlocks
    /// im2col (skipped for pointwise convolutions) and one sgemm per image, group and row tile.
    case im2col
}

/// The thresholds that choose among the convolution kernels, and the working-set budgets the
/// kernels block their work by. Changing one changes which kernel runs (and, for Winograd, the
/// rounding of the results), never the convolution computed.
package enum ConvolutionDispatch {
    /// Output planes (`Ho·Wo`) below this many positions count as small images: with more than
    /// one image, small images are computed a block of images at a time (shifted windows or
    /// batched im2col, forward and backward), since one sgemm per image would be too thin.
    package static let smallImageOutputPlane = 4096

    /// The fewest input channels for the shifted-window forward: with fewer, each kernel tap's
    /// sgemm is too thin and the batched im2col forward wins.
    package static let shiftedMinimumInputChannels = 16

    /// The largest column matrix (in floats) built at once; larger images are tiled over output
    /// rows, and the batched forward puts at most this many floats of columns in one block.
    /// 4 Mi floats (16 MB) keeps a 320-channel 3×3 convolution at 32×32 in a single sgemm.
    package static let columnBudget = 1 << 22

    /// The floats of padded input plus product (`(C + O)·B·Hp·Wp`) one block of the shifted-window
    /// convolution works on: 1 MB, so a block's operands stay in the cores' L2 caches across its
    /// kH·kW sgemms (12 images of the extractor's 32-channel 16×16 patches). Measured on the
    /// extractor's forward (1,024 patches, 2 cores, interleaved runs at load 10–12): best-of 1.75 s
    /// against 3.03 s with blocks of the 16 MB column budget, and ~15 % less CPU time.
    package static let shiftedBlockBudget = 1 << 18

    /// The floats of one block's column matrix in the batched backward: small enough that the
    /// block's columns and output gradients stay in the cores' caches between the sgemm and
    /// col2im (a 16 MB block was slower than one sgemm per image on the extractor's patches).
    package static let backwardColumnBudget = 1 << 18

    /// The fewest input and output channels for Winograd: below, its 16 thin sgemms (which read
    /// 16/9 as many weights) lose to one im2col sgemm.
    package static let winogradMinimumChannels = 128

    /// The floats of transformed inputs and products (`16·(C + O)` per tile and image) that one
    /// chunk of Winograd's tiny-image blocks holds: 1 MB, so a chunk stays in the core's L2
    /// cache across its 16 sgemms (16 tiles of 16 of the extractor's 32-channel patches). An
    /// image whose tiles fit this budget with 16 images beside it counts as tiny
    /// (``usesWinogradForTinyImages(_:)``).
    package static let winogradBlockBudget = 1 << 18

    /// The images side by side in one block of Winograd's tiny-image kernel: one `SIMD16` lane each.
    package static let winogradBlockImages = 16

    /// The smallest output plane (`Ho·Wo`, 32×32) for Winograd, for the same reason.
    package static let winogradMinimumOutputPlane = 1024

    /// The largest padding on either axis Winograd's input transform handles.
    package static let winogradMaximumPadding = 2

    /// The most floats of transformed filters (`16·O·C`) Winograd builds: 32 Mi (128 MB).
    package static let winogradFilterBudget = 1 << 25

    /// The floats of transformed inputs and products Winograd holds at once (128 MB); larger
    /// images are processed in chunks of tile rows.
    package static let winogradChunkBudget = 1 << 25

    /// The forward kernel for `g`: depthwise, Winograd on blocks of tiny images (`inference`
    /// only), shifted windows, batched im2col, Winograd or im2col, the first that applies (the
    /// order of the file's header).
    ///
    /// `inference` says that no gradient will flow through this forward. Only then do many tiny
    /// images take Winograd (``usesWinogradForTinyImages(_:)``): training keeps the direct
    /// kernels, so a training run's numbers do not depend on this speed path.
    static func forwardPath(_ g: ConvolutionGeometry, inference: Bool = false) -> ConvolutionForwardPath {
        if g.isDepthwise { return .depthwise }
        if inference && usesWinogradForTinyImages(g) { return .winogradBlocks }
        let manySmallImages = !g.isPointwise && g.batch > 1 && g.outputPlane < smallImageOutputPlane
        if manySmallImages && g.groups == 1 && g.strideY == 1 && g.strideX == 1
            && g.inputChannels >= shiftedMinimumInputChannels {
            return .shiftedWindows
        }
        let imagesPerBlock = Swift.min(g.batch, columnBudget / Swift.max(g.patchSize &* g.outputPlane, 1))
        if manySmallImages && imagesPerBlock > 1 { return .batched(imagesPerBlock: imagesPerBlock) }
        if usesWinograd(g) { return .winograd }
        return .im2col
    }

    /// Images per block of the batched backward (``Tensor/convolutionInputGradientBatched`` and
    /// ``Tensor/convolutionWeightGradientBatched``), or 1 when the per-image loops apply: only
    /// small ungrouped images with a real column matrix, as the batched forward.
    static func backwardImagesPerBlock(_ g: ConvolutionGeometry) -> Int {
        guard !g.isPointwise && g.groups == 1 && g.batch > 1 && g.outputPlane < smallImageOutputPlane else { return 1 }
        return Swift.min(g.batch, backwardColumnBudget / Swift.max(g.patchSize &* g.outputPlane, 1))
    }

    /// Whether ``Tensor/winogradForward(_:weight:bias:_:into:)`` computes this convolution: 3×3,
    /// stride 1, no dilation, one group, padding at most ``winogradMaximumPadding``, at least
    /// ``winogradMinimumChannels`` input and output channels and ``winogradMinimumOutputPlane``
    /// outputs (at least 2×2), transformed filters within ``winogradFilterBudget``, and
    /// ``ConvolutionAlgorithms/winogradEnabled``.
    static func usesWinograd(_ g: ConvolutionGeometry) -> Bool {
        winogradApplies(g)
            && g.inputChannels >= winogradMinimumChannels && g.outputChannels >= winogradMinimumChannels
            && g.outputPlane >= winogradMinimumOutputPlane
    }

    /// Whether ``Tensor/winogradForwardTinyImages(_:weight:bias:_:into:)`` computes this
    /// convolution of many tiny images: what Winograd needs (as ``usesWinograd(_:)``, without its
    /// size minimums), more than one image, at least ``shiftedMinimumInputChannels`` input and
    /// output channels, and one tile row's transformed tiles and products for
    /// ``winogradBlockImages`` images within ``winogradBlockBudget`` (a chunk is one tile row or
    /// more). The
    /// extractor's 3×3 convolutions on its 16×16 patches (and on the 8×8, 4×4 and 2×2 maps after
    /// pooling) are such convolutions.
    static func usesWinogradForTinyImages(_ g: ConvolutionGeometry) -> Bool {
        let tilesX = (g.outputWidth &+ 1) / 2
        return winogradApplies(g) && g.batch > 1
            && g.inputChannels >= shiftedMinimumInputChannels && g.outputChannels >= shiftedMinimumInputChannels
            && 16 &* (g.inputChannels &+ g.outputChannels) &* tilesX &* winogradBlockImages <= winogradBlockBudget
    }

    /// The conditions of every Winograd use: 3×3, stride 1, no dilation, one group, padding at
    /// most ``winogradMaximumPadding``, at least 2×2 outputs, transformed filters within
    /// ``winogradFilterBudget``, and ``ConvolutionAlgorithms/winogradEnabled``.
    private static func winogradApplies(_ g: ConvolutionGeometry) -> Bool {
        ConvolutionAlgorithms.winogradEnabled
            && g.kernelHeight == 3 && g.kernelWidth == 3 && g.strideY == 1 && g.strideX == 1
            && g.dilationY == 1 && g.dilationX == 1 && g.groups == 1
            && g.paddingY <= winogradMaximumPadding && g.paddingX <= winogradMaximumPadding
            && g.outputHeight >= 2 && g.outputWidth >= 2
            && 16 &* g.inputChannels &* g.outputChannels <= winogradFilterBudget
    }
}
