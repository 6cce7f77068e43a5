// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Record categories
/// @notice Bit positions of the category mask a grant carries. The list is fixed for the life of a
///         deployment (new categories mean a new deployment) and mirrored in docs/consent-model.md
///         and in the medkey-protocol crate. The last four are the categories that US and EU law
///         treat as especially sensitive; a patient grants them only on purpose, by naming them.
library Categories {
    uint16 internal constant LAB_RESULTS = 1 << 0;
    uint16 internal constant PRESCRIPTIONS = 1 << 1;
    uint16 internal constant IMAGING = 1 << 2;
    uint16 internal constant IMMUNIZATIONS = 1 << 3;
    uint16 internal constant ALLERGIES = 1 << 4;
    uint16 internal constant CONDITIONS = 1 << 5;
    uint16 internal constant CLINICAL_NOTES = 1 << 6;
    uint16 internal constant VITALS = 1 << 7;
    uint16 internal constant PROCEDURES = 1 << 8;
    uint16 internal constant ENCOUNTERS = 1 << 9;
    uint16 internal constant CARE_PLANS = 1 << 10;
    uint16 internal constant DOCUMENTS = 1 << 11;
    uint16 internal constant MENTAL_HEALTH = 1 << 12;
    uint16 internal constant SUBSTANCE_USE = 1 << 13;
    uint16 internal constant SEXUAL_REPRODUCTIVE_HEALTH = 1 << 14;
    uint16 internal constant GENETICS = 1 << 15;

    uint8 internal constant COUNT = 16;
    uint16 internal constant ALL = type(uint16).max;
}

/// @title Purposes of use
/// @notice Indexes into a fixed subset of HL7 v3 PurposeOfUse codes
///         (terminology.hl7.org/ValueSet/v3-PurposeOfUse). Order is part of the ABI.
library Purposes {
    uint8 internal constant TREAT = 0; // treatment
    uint8 internal constant ETREAT = 1; // emergency treatment (break-glass)
    uint8 internal constant COC = 2; // coordination of care
    uint8 internal constant CAREMGT = 3; // care management
    uint8 internal constant HPAYMT = 4; // healthcare payment
    uint8 internal constant HOPERAT = 5; // healthcare operations
    uint8 internal constant HRESCH = 6; // healthcare research
    uint8 internal constant CLINTRL = 7; // clinical trial
    uint8 internal constant PATRQT = 8; // patient requested
    uint8 internal constant FAMRQT = 9; // family requested
    uint8 internal constant PWATRNY = 10; // power of attorney
    uint8 internal constant PUBHLTH = 11; // public health

    uint8 internal constant COUNT = 12;
}
