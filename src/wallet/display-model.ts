/**
 * What both screens render for a request: a title, labelled fields and warnings, plus alerts
 * (reasons to reject unless the user is sure) shown first and most prominently. The approval
 * window and the phone render the same model from the same request.
 */
export interface DisplayField {
  /** Unique within a model. */
  readonly label: string;
  /** Shown with its line breaks. */
  readonly value: string;
  /** The EIP-712 type of a typed-data value. */
  readonly type?: string;
  readonly warning?: string;
}

export interface DisplayModel {
  readonly title: string;
  readonly fields: readonly DisplayField[];
  readonly warnings: readonly string[];
  /** Shown above everything, in red: e.g. a sign-in for another site than the one asking. */
  readonly alerts?: readonly string[];
}
