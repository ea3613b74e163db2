// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title HokusaiToken
/// @notice The ERC-20 token of one ML model. Supply changes only through its controller
///         (the TokenManager); holders may burn their own balance.
contract HokusaiToken is ERC20, Ownable {
    /// @notice The only account allowed to mint and to burn from holders.
    address public controller;

    /// @notice Emitted when the controller changes.
    event ControllerUpdated(address indexed previousController, address indexed newController);
    /// @notice Emitted when the controller mints.
    event Minted(address indexed to, uint256 amount);
    /// @notice Emitted when tokens are burned by a holder or by the controller.
    event Burned(address indexed from, uint256 amount);

    /// @notice The caller is not the controller.
    error OnlyController(address caller);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();

    constructor(string memory name_, string memory symbol_, address controller_)
        ERC20(name_, symbol_)
        Ownable(msg.sender)
    {
        if (controller_ == address(0)) revert ZeroAddress();
        controller = controller_;
        emit ControllerUpdated(address(0), controller_);
    }

    modifier onlyController() {
        if (msg.sender != controller) revert OnlyController(msg.sender);
        _;
    }

    /// @notice Mints `amount` to `to`. Controller only.
    function mint(address to, uint256 amount) external onlyController {
        _mint(to, amount);
        emit Minted(to, amount);
    }

    /// @notice Burns `amount` from `from`. Controller only.
    function burnFrom(address from, uint256 amount) external onlyController {
        _burn(from, amount);
        emit Burned(from, amount);
    }

    /// @notice Burns `amount` of the caller's own balance.
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
        emit Burned(msg.sender, amount);
    }

    /// @notice Replaces the controller. Owner only.
    function setController(address newController) external onlyOwner {
        if (newController == address(0)) revert ZeroAddress();
        emit ControllerUpdated(controller, newController);
        controller = newController;
    }
}
