// @pictor/sdk, ESM entry: the very objects of index.cjs (one copy of each class, so `instanceof`
// holds whether a module was loaded with `import` or `require`).
import sdk from './index.cjs'

export const {
  Client,
  PictorError,
  AuthError,
  NotFoundError,
  InsufficientFundsError,
  ValidationError,
  ConflictError,
  InfeasibleError,
  RateLimitError,
  NetworkError,
  FileError,
  IntegrityError,
  FINAL_EVENT_KINDS,
  nativeVersion,
} = sdk
export default sdk
